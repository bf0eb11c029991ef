/* Reading one record: typed accessors over the parsed line, and times (RFC 3339 <-> microseconds). */
#include "elaine_cli_rec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* n digits at s into *v; 0 or -1. */
static int digits(const char *s, int n, int *v)
{
    int x = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        x = x * 10 + (s[i] - '0');
    }
    *v = x;
    return 0;
}

int elaine_cli_time_parse(const char *s, int64_t *us)
{
    int y, mo, d, h = 0, mi = 0, sec = 0;
    int64_t frac = 0;
    if (digits(s, 4, &y) || s[4] != '-' || digits(s + 5, 2, &mo) || s[7] != '-' || digits(s + 8, 2, &d))
        return -1;
    if (mo < 1 || mo > 12 || d < 1 || d > 31)
        return -1;
    const char *p = s + 10;
    int local = 1, off = 0;
    if (*p == 'T' || *p == 't' || *p == ' ') {
        p++;
        if (digits(p, 2, &h) || p[2] != ':' || digits(p + 3, 2, &mi))
            return -1;
        p += 5;
        if (*p == ':') {
            if (digits(p + 1, 2, &sec))
                return -1;
            p += 3;
        }
        if (h > 23 || mi > 59 || sec > 60)
            return -1;
        if (*p == '.') {
            int k = 0;
            for (p++; *p >= '0' && *p <= '9'; p++)
                if (k < 6) {
                    frac = frac * 10 + (*p - '0');
                    k++;
                }
            if (!k)
                return -1;
            for (; k < 6; k++)
                frac *= 10;
        }
        if (*p == 'Z' || *p == 'z') {
            local = 0;
            p++;
        } else if (*p == '+' || *p == '-') {
            int oh, om;
            if (digits(p + 1, 2, &oh) || p[3] != ':' || digits(p + 4, 2, &om))
                return -1;
            off = (oh * 60 + om) * 60 * (*p == '-' ? -1 : 1);
            local = 0;
            p += 6;
        }
    }
    if (*p)
        return -1;
    int64_t t;
    if (local) {
        struct tm tm = {.tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d, .tm_hour = h, .tm_min = mi,
                        .tm_sec = sec, .tm_isdst = -1};
        time_t tt = mktime(&tm);
        if (tt == (time_t)-1 && !(tm.tm_year == 69 && tm.tm_mon == 11 && tm.tm_mday == 31))
            return -1;
        t = (int64_t)tt;
    } else {
        t = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - off;
    }
    *us = t * 1000000 + frac;
    return 0;
}

void elaine_cli_time_local(int64_t us, char *buf, size_t size)
{
    time_t sec = (time_t)(us >= 0 ? us / 1000000 : (us - 999999) / 1000000);
    int ms = (int)((us - (int64_t)sec * 1000000) / 1000);
    struct tm tm;
    char tmp[32];
    if (!localtime_r(&sec, &tm) || !strftime(tmp, sizeof(tmp), "%Y-%m-%d %H:%M:%S", &tm)) {
        snprintf(buf, size, "-");
        return;
    }
    snprintf(buf, size, "%s.%03d", tmp, ms);
}

int64_t elaine_cli_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

const char *elaine_cli_rec_str(const ej_val *rec, const char *path)
{
    return elaine_json_str(elaine_json_path(rec, path));
}

int elaine_cli_rec_num(const ej_val *rec, const char *path, double *out)
{
    const char *t = elaine_json_num_text(elaine_json_path(rec, path));
    if (!t)
        return -1;
    *out = strtod(t, NULL);
    return 0;
}

int64_t elaine_cli_rec_ts(const ej_val *rec)
{
    const char *s = elaine_cli_rec_str(rec, "ts");
    int64_t us;
    return s && elaine_cli_time_parse(s, &us) == 0 ? us : ELAINE_CLI_NO_TIME;
}

const char *elaine_cli_rec_model(const ej_val *rec)
{
    const char *m = elaine_cli_rec_str(rec, "llm.model");
    if (!m || !*m)
        m = elaine_cli_rec_str(rec, "llm.response_model");
    return m && *m ? m : NULL;
}

int elaine_cli_rec_failed(const ej_val *rec)
{
    const ej_val *err = elaine_json_get(rec, "error");
    if (err && elaine_json_type(err) != EJ_NULL)
        return 1;
    int64_t st;
    if (elaine_json_int(elaine_json_path(rec, "response.status"), &st) < 0)
        return 1;
    return st >= 400;
}

void elaine_cli_rec_status(const ej_val *rec, char *buf, size_t size)
{
    int64_t st;
    if (elaine_json_int(elaine_json_path(rec, "response.status"), &st) == 0)
        snprintf(buf, size, "%lld", (long long)st);
    else
        snprintf(buf, size, "error");
}
