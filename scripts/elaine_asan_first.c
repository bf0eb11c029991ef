/* libelaine_asan_first.so, built only with -DELAINE_SANITIZE=ON: initializes
 * AddressSanitizer before any other constructor runs (-z initfirst).
 *
 * A program not built with ASan gets the ASan runtime by LD_PRELOAD, whose
 * constructors run after those of the program's own libraries. ASan then
 * initializes on the first malloc instead, wherever that is; in curl it is in
 * libp11-kit's constructor, inside newlocale() with glibc's setlocale lock
 * held, and ASan's initialization takes that lock again: curl hangs, with or
 * without the shim (LD_PRELOAD=$(gcc -print-file-name=libasan.so) curl
 * --version). elaine-run and the tests preload this library right after the
 * runtime, before the shim. */
void __asan_init(void);

__attribute__((constructor)) static void elaine_asan_first(void)
{
    __asan_init();
}
