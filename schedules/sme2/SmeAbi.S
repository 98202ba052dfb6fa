/* SmeAbi.S - the SME ABI support routine that code with its own ZA state
 * needs and Debian bookworm's libgcc lacks (AAPCS64 SME support routines).
 * A function marked __arm_new("za") calls __arm_tpidr2_save on entry to
 * commit a caller's pending lazy save: if TPIDR2_EL0 points at a TPIDR2 block
 * { void *za_save_buffer; uint16_t num_za_save_slices; uint8_t reserved[6]; }
 * the first num_za_save_slices ZA array vectors go to the buffer; a null
 * TPIDR2_EL0 means nothing is pending; nonzero reserved bytes abort.
 * Clobbers only x16 and x17 (x12, the slice index, is restored), as the ABI
 * lets callers assume. Hidden: each model library carries its own copy and
 * never interposes a newer libgcc's. Assembled as ELF for Linux and as
 * Mach-O for macOS (C symbols there take a leading underscore, and "hidden"
 * is .private_extern). */
#if defined(__APPLE__)
#define SYM(name) _##name
#else
#define SYM(name) name
#endif
        .arch armv9-a+sme
        .text
        .globl SYM(__arm_tpidr2_save)
#if defined(__APPLE__)
        .private_extern SYM(__arm_tpidr2_save)
#else
        .hidden __arm_tpidr2_save
        .type __arm_tpidr2_save, %function
#endif
        .p2align 2
SYM(__arm_tpidr2_save):
        mrs     x16, TPIDR2_EL0
        cbz     x16, 2f
        ldr     x17, [x16, #8]          // num_za_save_slices (16 bits) + reserved
        tst     x17, #0xffffffffffff0000
        b.ne    3f
        ldr     x16, [x16]              // za_save_buffer
        cbz     x17, 2f
        str     x12, [sp, #-16]!
        mov     w12, #0
1:      str     za[w12, 0], [x16]
        addsvl  x16, x16, #1
        add     w12, w12, #1
        cmp     x12, x17
        b.lo    1b
        ldr     x12, [sp], #16
2:      ret
3:      b       SYM(abort)
#if !defined(__APPLE__)
        .size __arm_tpidr2_save, .-__arm_tpidr2_save
        .section .note.GNU-stack,"",%progbits
#endif
