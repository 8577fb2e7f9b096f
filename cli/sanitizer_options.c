/*
 * Built into omvflashd only with -DOMV_SANITIZE=ON: LeakSanitizer's
 * suppressions for leaks that are not ours, so that every other leak still
 * fails the sanitizer test run, and the options they need.
 *
 * libusb 1.0.26 (Debian 12), libusb_init(): the new context is on libusb's
 * list of active contexts while it enumerates the bus, so a device that leaves
 * during that enumeration (another camera detaching after its flash while a
 * worker opens its own camera) is taken off the context's device list by
 * usbi_disconnect_device(), which drops no reference because the context's
 * hot-plug is not ready yet; libusb_exit() then never frees it (about 400
 * bytes per occurrence). Later libusb releases drop that reference in
 * usbi_disconnect_device(). Every allocation under libusb_init() belongs to
 * the context and is freed by libusb_exit(), so suppressing leaks allocated
 * under it hides only this.
 */
const char *__lsan_default_suppressions(void);
const char *__asan_default_options(void);

/* libusb is built without frame pointers: the fast unwinder records only the
 * allocating frame, too little for a suppression to see libusb_init(). The
 * slow unwinder records the whole stack (a little slower per allocation). */
const char *__asan_default_options(void)
{
    return "fast_unwind_on_malloc=0";
}

const char *__lsan_default_suppressions(void)
{
    return "leak:libusb_init\n";
}
