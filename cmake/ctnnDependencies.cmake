# Dependencies of the ctnn interface target, shared by the build tree and ctnnConfig.cmake's logic.
# xtl first: Debian's xsimd config names the xtl target without finding it (link fails with -lxtl).
include(GNUInstallDirs)
find_package(xtl REQUIRED)
find_package(xsimd REQUIRED)
find_package(xtensor REQUIRED)
find_package(ZLIB REQUIRED)
