// umalloc's C core as a user C module (builtin `_umcore`) for firmware that freezes
// umalloc: see umcore.c.  _core imports it before looking for the native-module file.
#include <string.h>

#include "py/runtime.h"

// viper's machine-word arithmetic wraps; so does this translation of it (the
// native-module build passes -fwrapv; here only this file gets it).  -fno-ipa-ra: with IPA-RA
// the M0+ image's free() handed um_relink a clobbered block (test_arena_random on
// the frozen QEMU image): with arm-none-eabi-gcc 12.2 -Os, free() calls um_links_back and
// then um_relink without reloading r1, but um_links_back's Thumb-1 epilogue releases its
// stack with `pop {r1, r2, r3, ...}` (seen with objdump -dr on usermod.o; a compiler bug,
// not undefined behaviour here).  The native-module build passes the flag too.
#pragma GCC optimize ("-fwrapv", "-fno-ipa-ra")

#include "umcore.c"

MP_DEFINE_CONST_OBJ_TYPE(um_type, MP_QSTR_umcore, MP_TYPE_FLAG_NONE, call, um_call);

// heap() and part() differ in their argument count alone
static mp_obj_t pair(size_t n_args, const mp_obj_t *args) {
    return um_pair_impl(&um_type, n_args, args);
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(heap_obj, 7, 7, pair);
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(part_obj, 6, 6, pair);

static const mp_rom_map_elem_t um_module_globals_table[] = {
    { MP_ROM_QSTR(MP_QSTR___name__), MP_ROM_QSTR(MP_QSTR__umcore) },
    { MP_ROM_QSTR(MP_QSTR_heap), MP_ROM_PTR(&heap_obj) },
    { MP_ROM_QSTR(MP_QSTR_part), MP_ROM_PTR(&part_obj) },
    { MP_ROM_QSTR(MP_QSTR_insert), MP_ROM_PTR(&um_insert_obj) },
    { MP_ROM_QSTR(MP_QSTR_remove), MP_ROM_PTR(&um_remove_obj) },
    { MP_ROM_QSTR(MP_QSTR__free_block), MP_ROM_PTR(&um_free_block_obj) },
    { MP_ROM_QSTR(MP_QSTR_size_class), MP_ROM_PTR(&um_size_class_obj) },
    { MP_ROM_QSTR(MP_QSTR_ld), MP_ROM_PTR(&um_ld_obj) },
    { MP_ROM_QSTR(MP_QSTR_st), MP_ROM_PTR(&um_st_obj) },
    { MP_ROM_QSTR(MP_QSTR_fill), MP_ROM_PTR(&um_fill_obj) },
    { MP_ROM_QSTR(MP_QSTR__address), MP_ROM_PTR(&um_address_obj) },
    { MP_ROM_QSTR(MP_QSTR_header_seal), MP_ROM_PTR(&um_header_seal_obj) },
    { MP_ROM_QSTR(MP_QSTR_part_seal), MP_ROM_PTR(&um_part_seal_obj) },
    { MP_ROM_QSTR(MP_QSTR_seal_layout), MP_ROM_PTR(&um_seal_layout_obj) },
    { MP_ROM_QSTR(MP_QSTR_PRIMASK), MP_ROM_INT(UM_PRIMASK) },
};
static MP_DEFINE_CONST_DICT(um_module_globals, um_module_globals_table);

const mp_obj_module_t um_module = {
    .base = { &mp_type_module },
    .globals = (mp_obj_dict_t *)&um_module_globals,
};

MP_REGISTER_MODULE(MP_QSTR__umcore, um_module);
