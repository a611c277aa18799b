# Runs device test functions inside MicroPython and prints one line per test:
#   PASS name   |   FAIL name   followed by the traceback, then END.
# Usage: micropython _mprunner.py [--viper] MODULE [TEST ...]
#   --viper: the viper core even where the C core exists (umalloc._core.CCORE = None)
# On a board over serial: import _mprunner; _mprunner.run("MODULE")
import sys


def run(module_name, names=()):
    try:
        module = __import__(module_name)
    except ImportError as exc:   # the firmware lacks something the module needs (_thread...)
        print("NOIMPORT", module_name, exc)
        print("END")
        return
    names = names or sorted(n for n in dir(module) if n.startswith("test_"))
    for name in names:
        try:
            getattr(module, name)()
        except Exception as exc:  # report every failure, keep going
            print("FAIL", name)
            sys.print_exception(exc)
        else:
            print("PASS", name)
    print("END")


if __name__ == "__main__":
    args = sys.argv[1:]
    if args[0] == "--viper":
        import umalloc._core
        umalloc._core.CCORE = None
        args = args[1:]
    run(args[0], args[1:])
