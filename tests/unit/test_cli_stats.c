/* Tests for the elaine reader's statistics: nearest-rank percentiles and the id set that drops duplicates. */
#include "elaine_cli_filter.h"
#include "elaine_cli_opts.h"
#include "elaine_cli_read.h"
#include "elaine_cli_rec.h"
#include "elaine_cli_stats.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"

#define CHECK_NUM(got, want) CHECK(fabs((got) - (want)) < 1e-9)

int main(void)
{
    CASE("percentiles: nearest rank");
    double one[] = {7};
    CHECK_NUM(elaine_cli_percentile(one, 1, 50), 7);
    CHECK_NUM(elaine_cli_percentile(one, 1, 99), 7);
    CHECK(isnan(elaine_cli_percentile(one, 0, 50)));
    double four[] = {100, 200, 300, 400};
    CHECK_NUM(elaine_cli_percentile(four, 4, 50), 200); /* rank ceil(2) = 2 */
    CHECK_NUM(elaine_cli_percentile(four, 4, 95), 400); /* rank ceil(3.8) = 4 */
    CHECK_NUM(elaine_cli_percentile(four, 4, 25), 100);
    CHECK_NUM(elaine_cli_percentile(four, 4, 26), 200);
    double hundred[100];
    for (int i = 0; i < 100; i++)
        hundred[i] = i + 1;
    CHECK_NUM(elaine_cli_percentile(hundred, 100, 50), 50);
    CHECK_NUM(elaine_cli_percentile(hundred, 100, 95), 95);
    CHECK_NUM(elaine_cli_percentile(hundred, 100, 99), 99);
    CHECK_NUM(elaine_cli_percentile(hundred, 100, 100), 100);
    double twenty[20];
    for (int i = 0; i < 20; i++)
        twenty[i] = (i + 1) * 10;
    CHECK_NUM(elaine_cli_percentile(twenty, 20, 95), 190); /* rank 19 */
    CHECK_NUM(elaine_cli_percentile(twenty, 20, 99), 200); /* rank ceil(19.8) = 20 */

    CASE("id set");
    elaine_cli_idset s = {0};
    char id[32];
    int dups = 0;
    for (int round = 0; round < 2; round++)
        for (int i = 0; i < 20000; i++) {
            snprintf(id, sizeof(id), "%d-482392-%d-0", 1000 + i % 7, i);
            int r = elaine_cli_idset_add(&s, elaine_cli_id_hash(id, strlen(id)));
            CHECK(r >= 0);
            dups += r;
        }
    CHECK_INT(dups, 20000);
    CHECK_INT(s.used, 20000);
    CHECK(s.cap >= 40000);
    CHECK(elaine_cli_id_hash("", 0) != 0);
    CHECK(elaine_cli_id_hash("a", 1) != elaine_cli_id_hash("b", 1));
    elaine_cli_idset_free(&s);

    CASE("rotated file names and --since");
    int64_t t;
    CHECK_INT(elaine_cli_time_parse("2026-12-04T10:00:00Z", &t), 0);
    CHECK_INT(elaine_cli_read_file_before("elaine-20261204T100000.000000Z.jsonl.zst", t), 1);
    CHECK_INT(elaine_cli_read_file_before("elaine-20261204T100000.000001Z.jsonl.zst", t), 0);
    CHECK_INT(elaine_cli_read_file_before("elaine-20261204T095959.999999Z-2.jsonl", t), 1);
    CHECK_INT(elaine_cli_read_file_before("elaine.jsonl", t), 0);
    CHECK_INT(elaine_cli_read_file_before("elaine-garbage.jsonl.zst", t), 0);
    return check_done("test_cli_stats");
}
