# Debian's libcpp-httplib-dev ships the header, a compiled library and a pkg-config file,
# no CMake package: this module provides httplib::httplib from them (the name upstream's
# own CMake package gives it). The header must be compiled with the options the library
# was built with (its pkg-config Cflags: OpenSSL, zlib and brotli support), or the two
# would disagree about its classes.
find_package(PkgConfig QUIET)
if(PkgConfig_FOUND)
    pkg_check_modules(PC_httplib QUIET cpp-httplib)
endif()
find_path(httplib_INCLUDE_DIR httplib.h HINTS ${PC_httplib_INCLUDE_DIRS})
find_library(httplib_LIBRARY cpp-httplib HINTS ${PC_httplib_LIBRARY_DIRS})
include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(httplib
    REQUIRED_VARS httplib_LIBRARY httplib_INCLUDE_DIR VERSION_VAR PC_httplib_VERSION)
if(httplib_FOUND AND NOT TARGET httplib::httplib)
    add_library(httplib::httplib UNKNOWN IMPORTED)
    set_target_properties(httplib::httplib PROPERTIES
        IMPORTED_LOCATION "${httplib_LIBRARY}"
        INTERFACE_INCLUDE_DIRECTORIES "${httplib_INCLUDE_DIR}"
        INTERFACE_COMPILE_OPTIONS "${PC_httplib_CFLAGS_OTHER}")
endif()
mark_as_advanced(httplib_INCLUDE_DIR httplib_LIBRARY)
