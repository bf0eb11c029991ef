/* elaine_buf: growth, NUL termination, formatting, take/reset/free. */
#include <stdint.h>

#include "check.h"
#include "elaine_buf.h"

int main(void)
{
    elaine_buf b;
    elaine_buf_init(&b);

    CASE("init");
    CHECK(b.p == NULL);
    CHECK_INT(b.len, 0);

    CASE("add and NUL");
    elaine_buf_add(&b, "ab", 2);
    elaine_buf_adds(&b, "cd");
    elaine_buf_addc(&b, 'e');
    CHECK_MEM(b.p, b.len, "abcde", 5);
    CHECK(b.p[b.len] == 0);

    CASE("embedded NUL");
    elaine_buf_add(&b, "x\0y", 3);
    CHECK_MEM(b.p, b.len, "abcdex\0y", 8);

    CASE("addf small and large");
    elaine_buf_reset(&b);
    CHECK_INT(b.len, 0);
    CHECK_STR(b.p, "");
    elaine_buf_addf(&b, "%d-%s", 42, "z");
    CHECK_STR(b.p, "42-z");
    char big[1000];
    memset(big, 'q', sizeof(big) - 1);
    big[sizeof(big) - 1] = 0;
    elaine_buf_addf(&b, "[%s]", big);
    CHECK_INT(b.len, 4 + 2 + 999);
    CHECK(b.p[4] == '[' && b.p[5] == 'q' && b.p[b.len - 1] == ']' && b.p[b.len] == 0);

    CASE("growth over many appends");
    elaine_buf_reset(&b);
    for (int i = 0; i < 100000; i++)
        elaine_buf_addc(&b, (char)('a' + i % 26));
    CHECK_INT(b.len, 100000);
    CHECK(b.p[99999] == 'a' + 99999 % 26);
    CHECK(!b.oom);

    CASE("take");
    char *t = elaine_buf_take(&b);
    CHECK(t != NULL && strlen(t) == 100000);
    CHECK(b.p == NULL && b.len == 0 && b.cap == 0);
    free(t);
    t = elaine_buf_take(&b); /* empty: "" */
    CHECK_STR(t, "");
    free(t);

    CASE("oom is sticky");
    elaine_buf_add(&b, "x", 1);
    b.oom = 1;
    elaine_buf_add(&b, "y", 1);
    CHECK_MEM(b.p, b.len, "x", 1);

    elaine_buf_free(&b);
    CHECK(b.p == NULL);
    return check_done("test_buf");
}
