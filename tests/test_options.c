/*
 * test_options.c - the command-line option parser (support/options.c): an option whose value may be
 * left out takes the next argument only when it is an integer in range, and otherwise its implied
 * value; an absent option leaves its destination alone.
 */
#include <criterion/criterion.h>

#include "support/options.h"

static long long gpu, top;

static int parse(int argc, char **argv) {
    const cli_option options[] = {
        {.name = "--gpu", .metavar = "N", .help = "a device", .kind = CLI_INT, .dst = &gpu, .min = -1, .max = 64,
         .optional = 1, .implied = 0},
        {.name = "--top", .metavar = "N", .help = "results", .kind = CLI_INT, .dst = &top, .min = 1, .max = 100},
    };
    const cli_spec spec = {"test", "a test", NULL, options, CLI_NOPTIONS(options)};
    gpu = -2;
    top = 0;
    int rc = -1;
    return cli_parse(&spec, argc, argv, &rc) ? 0 : rc;
}

Test(options, optional_value) {
    char *a[] = {"test", "--gpu", "--top", "5"};
    cr_assert_eq(parse(4, a), 0);
    cr_assert(gpu == 0 && top == 5);
    char *b[] = {"test", "--top", "5", "--gpu", "3"};
    cr_assert_eq(parse(5, b), 0);
    cr_assert(gpu == 3 && top == 5);
    char *c[] = {"test", "--gpu", "-1"};
    cr_assert_eq(parse(3, c), 0);
    cr_assert_eq(gpu, -1);
    char *d[] = {"test", "--gpu"};
    cr_assert_eq(parse(2, d), 0);
    cr_assert_eq(gpu, 0);
    char *e[] = {"test", "--top", "7"};
    cr_assert_eq(parse(3, e), 0);
    cr_assert_eq(gpu, -2, "an absent option leaves its destination alone");
    /* Out of range: not taken as the value, so it is an unexpected operand. */
    char *f[] = {"test", "--gpu", "99"};
    cr_assert_eq(parse(3, f), 2);
}
