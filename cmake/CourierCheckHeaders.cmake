# courier_check_headers(<target> <dir>): an object library that compiles every public
# header under include/<dir>/ (e.g. courier/serialization) on its own (seastar's
# checkheaders), so each one includes what it uses. Off with COURIER_CHECK_HEADERS=OFF:
# the sanitizer builds skip it, since the release build checks the same headers.
function(courier_check_headers target dir)
    if(NOT COURIER_CHECK_HEADERS)
        return()
    endif()
    file(GLOB headers CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/include/${dir}/*.hpp)
    set(checks)
    foreach(header IN LISTS headers)
        get_filename_component(name ${header} NAME)
        set(check ${CMAKE_CURRENT_BINARY_DIR}/checkheaders/${name}.cpp)
        file(CONFIGURE OUTPUT ${check} CONTENT "#include <${dir}/${name}>\n")
        list(APPEND checks ${check})
    endforeach()
    add_library(${target}_checkheaders OBJECT ${checks})
    target_link_libraries(${target}_checkheaders
                          PRIVATE ${target} $<BUILD_INTERFACE:courier_warnings>)
endfunction()
