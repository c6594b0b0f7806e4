"""Debian bookworm's Python 3.11 and numpy for arm64 / armhf, unpacked into a sysroot
that qemu-user runs (../shared/spec/TOOLCHAIN.md, "Emulated Arm Linux Python").

Downloaded once into ~/.cache/keras-fda/debian-python/<arch>/ (or $XDG_CACHE_HOME):
apt resolves the dependency closure of python3.11 + python3-numpy against an empty
package status, with its own lists and cache folders, so the host's package set is
never touched; `dpkg -x` unpacks every .deb. A finished sysroot is moved into place
atomically, so an interrupted download is redone, never half used.
"""

import glob
import os
import shutil
import subprocess
import tempfile

PACKAGES = ("python3.11", "python3-numpy")


class Arch:
    def __init__(self, debian, multiarch, qemu, cc, machine):
        self.debian = debian  # Debian's architecture name
        self.multiarch = multiarch  # /usr/lib/<multiarch>, the cross compiler's prefix
        self.qemu = qemu
        self.cc = cc
        self.machine = machine  # platform.machine() inside the emulated Python


ARCHES = {
    "arm64": Arch(
        "arm64", "aarch64-linux-gnu", "qemu-aarch64-static", "aarch64-linux-gnu-gcc", "aarch64"
    ),
    "armhf": Arch(
        "armhf", "arm-linux-gnueabihf", "qemu-arm-static", "arm-linux-gnueabihf-gcc", "armv7l"
    ),
}


class MirrorUnreachable(Exception):
    """The Debian mirror did not answer: the caller skips."""


def cache_root():
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "keras-fda", "debian-python")


def _apt(work, arch, *args):
    options = [
        "-o",
        f"APT::Architecture={arch}",
        "-o",
        f"APT::Architectures={arch}",
        "-o",
        f"Dir::State::Lists={work}/lists",
        "-o",
        f"Dir::Cache={work}/cache",
        "-o",
        f"Dir::State::status={work}/status",  # empty: resolve the whole closure
        "-o",
        "Debug::NoLocking=1",
        "-o",
        "APT::Sandbox::User=root",
    ]
    return subprocess.run(
        ["apt-get", *options, *args],
        capture_output=True,
        text=True,
        cwd=os.path.join(work, "debs"),
        timeout=900,
    )


def _link_alternatives(root, multiarch):
    """libblas.so.3 and liblapack.so.3 where numpy's loader looks: Debian points them
    there through update-alternatives symlinks that a postinst creates, and dpkg -x runs
    no postinst. (LD_LIBRARY_PATH is no way round: a 32-bit guest's stat() of these
    folders can fail with EOVERFLOW under qemu-user, and glibc then skips them.)"""
    lib = os.path.join(root, "usr", "lib", multiarch)
    for folder, name in (("blas", "libblas.so.3"), ("lapack", "liblapack.so.3")):
        link = os.path.join(lib, name)
        if not os.path.lexists(link):
            os.symlink(os.path.join(folder, name), link)


def sysroot(name):
    """The sysroot folder for ARCHES[name], downloading it the first time."""
    arch = ARCHES[name].debian
    target = os.path.join(cache_root(), arch)
    if os.path.isfile(os.path.join(target, "usr", "bin", "python3.11")):
        _link_alternatives(target, ARCHES[name].multiarch)
        return target
    os.makedirs(cache_root(), exist_ok=True)
    work = tempfile.mkdtemp(prefix=f".{arch}-", dir=cache_root())
    try:
        for folder in ("lists/partial", "cache/archives/partial", "debs", "root"):
            os.makedirs(os.path.join(work, folder))
        open(os.path.join(work, "status"), "w").close()
        done = _apt(work, arch, "update")
        if done.returncode != 0 or not glob.glob(
            os.path.join(work, "lists", f"*binary-{arch}_Packages*")
        ):
            reason = (done.stderr.strip().splitlines() or ["no package lists"])[-1]
            raise MirrorUnreachable(f"the Debian mirror is unreachable ({reason})")
        plan = _apt(work, arch, "install", "--simulate", "--no-install-recommends", *PACKAGES)
        if plan.returncode != 0:
            raise RuntimeError(f"apt cannot resolve {PACKAGES} for {arch}: {plan.stderr.strip()}")
        closure = [line.split()[1] for line in plan.stdout.splitlines() if line.startswith("Inst ")]
        fetched = _apt(work, arch, "download", *closure)
        if fetched.returncode != 0:
            raise MirrorUnreachable(
                f"downloading {arch} packages failed: "
                f"{(fetched.stderr.strip().splitlines() or ['?'])[-1]}"
            )
        for deb in sorted(glob.glob(os.path.join(work, "debs", "*.deb"))):
            subprocess.run(["dpkg", "-x", deb, os.path.join(work, "root")], check=True)
        _link_alternatives(os.path.join(work, "root"), ARCHES[name].multiarch)
        try:
            os.replace(os.path.join(work, "root"), target)
        except OSError:  # a concurrent run finished first
            pass
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return target


def python_command(name, root):
    """The command line and environment that run the emulated python3.11."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONNOUSERSITE": "1"}
    return [ARCHES[name].qemu, "-L", root, os.path.join(root, "usr", "bin", "python3.11")], env


def extra_packages(name, packages, target):
    """The Debian packages `packages` alone (not their dependencies: the sysroot has
    those) for ARCHES[name], unpacked into the folder `target` the first time; `target`.
    For programs that need more than python3 and numpy (a C++ wheel's libstdc++)."""
    if os.path.isdir(target):
        return target
    arch = ARCHES[name].debian
    os.makedirs(os.path.dirname(target), exist_ok=True)
    work = tempfile.mkdtemp(prefix=f".{arch}-extra-", dir=os.path.dirname(target))
    try:
        for folder in ("lists/partial", "cache/archives/partial", "debs", "root"):
            os.makedirs(os.path.join(work, folder))
        open(os.path.join(work, "status"), "w").close()
        done = _apt(work, arch, "update")
        if done.returncode != 0:
            raise MirrorUnreachable(f"the Debian mirror is unreachable ({done.stderr.strip()})")
        fetched = _apt(work, arch, "download", *packages)
        if fetched.returncode != 0:
            raise MirrorUnreachable(f"downloading {packages} failed: {fetched.stderr.strip()}")
        for deb in sorted(glob.glob(os.path.join(work, "debs", "*.deb"))):
            subprocess.run(["dpkg", "-x", deb, os.path.join(work, "root")], check=True)
        try:
            os.replace(os.path.join(work, "root"), target)
        except OSError:  # a concurrent run finished first
            pass
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return target
