# courier.pc for builds without CMake: `pkg-config --cflags --libs courier`, and with
# --static when the libraries are static (the default), which adds their own dependencies.
# The file finds its prefix from where it lies (${pcfiledir}), so an install moved with
# `cmake --install --prefix` or DESTDIR stays correct.
file(RELATIVE_PATH courier_pc_to_prefix ${CMAKE_INSTALL_FULL_LIBDIR}/pkgconfig
     ${CMAKE_INSTALL_PREFIX})
string(REGEX REPLACE "/$" "" courier_pc_to_prefix "${courier_pc_to_prefix}")
foreach(dir LIBDIR INCLUDEDIR)
    if(IS_ABSOLUTE "${CMAKE_INSTALL_${dir}}")
        set(courier_pc_${dir} "${CMAKE_INSTALL_${dir}}")
    else()
        set(courier_pc_${dir} "\${prefix}/${CMAKE_INSTALL_${dir}}")
    endif()
endforeach()

# What the libraries link privately, by the dependencies' own .pc files where they have
# one (spdlog brings fmt; cpp-httplib serves the metrics). cereal, concurrentqueue and Boost are headers without a .pc; a
# directory of theirs outside the compiler's default search path goes into Cflags.
set(courier_pc_requires_private "spdlog libcrypto cpp-httplib")
if(NOT COURIER_TOML_HEADER_ONLY)
    string(APPEND courier_pc_requires_private " tomlplusplus")
endif()
set(courier_pc_libs_private "")
foreach(library IN LISTS CMAKE_DL_LIBS)
    string(APPEND courier_pc_libs_private " -l${library}")
endforeach()
set(courier_pc_extra_cflags "")
foreach(package cereal::cereal concurrentqueue::concurrentqueue)
    get_target_property(dirs ${package} INTERFACE_INCLUDE_DIRECTORIES)
    foreach(dir IN LISTS dirs)
        if(dir AND NOT dir IN_LIST CMAKE_CXX_IMPLICIT_INCLUDE_DIRECTORIES
           AND NOT dir STREQUAL "/usr/include")
            string(APPEND courier_pc_extra_cflags " -I${dir}")
        endif()
    endforeach()
endforeach()

configure_file(${CMAKE_CURRENT_LIST_DIR}/courier.pc.in ${PROJECT_BINARY_DIR}/courier.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/courier.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig
        COMPONENT courier_development)
