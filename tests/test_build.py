"""make's output read into one line (export/build.py), on the messages GNU ld and gcc print."""

from keras_fda.export import build


def test_an_overflowing_memory_region_is_named_with_its_excess():
    log = (
        "/usr/bin/arm-none-eabi-ld: kfda_app.elf section `.bss' will not fit in region `RAM'\n"
        "/usr/bin/arm-none-eabi-ld: region `RAM' overflowed by 1234 bytes\n"
        "collect2: error: ld returned 1 exit status\n"
        "make: *** [cortex-m.mk:140: kfda_app.elf] Error 1\n"
    )
    message = str(build.make_error(log, "mps2-an386"))
    assert message == (
        "the model does not fit mps2-an386: RAM (the arena and buffers) "
        "overflows by 1,234 bytes; use a bigger board or a smaller model"
    )
    flash = str(build.make_error(log.replace("`RAM'", "`FLASH'"), "mps2-an386"))
    assert "flash (the model and the code) overflows by 1,234 bytes" in flash


def test_the_first_compiler_error_is_the_message():
    log = (
        "main.c: In function 'main':\n"
        "main.c:3:5: error: expected ';' before 'return'\n"
        "main.c:9:1: error: unknown type name 'foo'\n"
        "make: *** [Makefile:60: main.o] Error 1\n"
    )
    message = str(build.make_error(log, "arm64"))
    assert message == (
        "building the firmware for arm64 failed: main.c:3:5: error: expected ';' before 'return'"
    )
    assert "\n" not in message
