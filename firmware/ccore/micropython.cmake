# umalloc's C core as a user C module (CMake-based ports: rp2, esp32):
#   make -C ports/rp2 USER_C_MODULES=<umalloc>/firmware/ccore/micropython.cmake ...
add_library(usermod_umcore INTERFACE)
target_sources(usermod_umcore INTERFACE ${CMAKE_CURRENT_LIST_DIR}/usermod.c)
target_include_directories(usermod_umcore INTERFACE ${CMAKE_CURRENT_LIST_DIR})
target_link_libraries(usermod INTERFACE usermod_umcore)
