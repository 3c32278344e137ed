/* timeutil.c: strict UTC timestamps (see timeutil.h). */
#include "util/timeutil.h"

#include <string.h>

#include "util/text.h"

/* Layout of "YYYY-MM-DDTHH:MM:SSZ": 'd' is a digit, anything else literal. */
static const char timeutil_layout[] = "dddd-dd-ddTdd:dd:ddZ";

/*
 * Characters of a hostile time string quoted in a message. It is masked
 * rather than escaped: the message names a character by its position,
 * which must point at the same place in what the reader sees.
 */
#define TIMEUTIL_SHOW 40

#define TIMEUTIL_EXPECT "expected \"YYYY-MM-DDTHH:MM:SSZ\" in UTC, " \
	"for example \"2026-11-22T08:00:00Z\""

static int
timeutil_num(const char *s, size_t n)
{
	int v = 0;
	size_t i;

	for (i = 0; i < n; i++)
		v = v * 10 + (s[i] - '0');
	return v;
}

static int
timeutil_leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int
timeutil_mdays(int y, int m)
{
	static const int days[12] = {
		31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31
	};

	if (m == 2 && timeutil_leap(y))
		return 29;
	return days[m - 1];
}

int
timeutil_parse(const char *s, time_t *out, err_t *err)
{
	struct tm tm;
	char show[48];
	size_t len, i;
	int year, mon, day, hour, min, sec;
	time_t t;

	if (s == NULL)
		return err_set(err, ERR_INVALID, "missing time; "
		    TIMEUTIL_EXPECT);
	/* Bound the scan: a hostile string may be long, we need 21 bytes. */
	len = strnlen(s, sizeof(timeutil_layout));
	if (len != sizeof(timeutil_layout) - 1)
		return err_set(err, ERR_INVALID, "'%s' is not a valid time: %s",
		    text_mask(s, strnlen(s, TIMEUTIL_SHOW + 1), TIMEUTIL_SHOW,
		    show, sizeof(show)), TIMEUTIL_EXPECT);
	for (i = 0; i < len; i++) {
		char want = timeutil_layout[i];
		int ok = want == 'd' ? (s[i] >= '0' && s[i] <= '9') :
		    s[i] == want;

		if (!ok)
			return err_set(err, ERR_INVALID, "'%s' is not a valid "
			    "time: character %zu should be %s; %s",
			    text_mask(s, len, TIMEUTIL_SHOW, show, sizeof(show)),
			    i + 1,
			    want == 'd' ? "a digit" :
			    want == 'Z' ? "'Z' (only UTC is accepted)" :
			    want == 'T' ? "'T'" : want == '-' ? "'-'" : "':'",
			    TIMEUTIL_EXPECT);
	}
	year = timeutil_num(s, 4);
	mon = timeutil_num(s + 5, 2);
	day = timeutil_num(s + 8, 2);
	hour = timeutil_num(s + 11, 2);
	min = timeutil_num(s + 14, 2);
	sec = timeutil_num(s + 17, 2);
	if (year < 1950)
		return err_set(err, ERR_INVALID, "'%s': year %d is before "
		    "1950; expected a year from 1950 to 9999", s, year);
	if (mon < 1 || mon > 12)
		return err_set(err, ERR_INVALID, "'%s': month %02d is out of "
		    "range; expected 01 to 12", s, mon);
	if (day < 1 || day > timeutil_mdays(year, mon))
		return err_set(err, ERR_INVALID, "'%s': day %02d does not "
		    "exist in %04d-%02d; expected 01 to %02d", s, day, year,
		    mon, timeutil_mdays(year, mon));
	if (hour > 23)
		return err_set(err, ERR_INVALID, "'%s': hour %02d is out of "
		    "range; expected 00 to 23", s, hour);
	if (min > 59)
		return err_set(err, ERR_INVALID, "'%s': minute %02d is out of "
		    "range; expected 00 to 59", s, min);
	/* Leap seconds are refused: X.509 times cannot carry them either. */
	if (sec > 59)
		return err_set(err, ERR_INVALID, "'%s': second %02d is out of "
		    "range; expected 00 to 59", s, sec);
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = year - 1900;
	tm.tm_mon = mon - 1;
	tm.tm_mday = day;
	tm.tm_hour = hour;
	tm.tm_min = min;
	tm.tm_sec = sec;
	t = timegm(&tm);
	if (t == (time_t)-1)
		return err_set(err, ERR_INVALID, "'%s' cannot be represented "
		    "as a time on this system", s);
	*out = t;
	return 0;
}

/* Writes v as exactly `width` decimal digits; the caller bounds v. */
static void
timeutil_digits(char *out, unsigned v, int width)
{
	while (width-- > 0) {
		out[width] = (char)('0' + v % 10);
		v /= 10;
	}
}

void
timeutil_format(time_t t, char out[TIMEUTIL_STRLEN])
{
	struct tm tm;

	/*
	 * A time outside what gmtime_r or the format can express is written
	 * as an impossible date: it has the right length for callers' buffers
	 * but timeutil_parse refuses it, so it can never pass as a real time.
	 */
	memcpy(out, "0000-00-00T00:00:00Z", TIMEUTIL_STRLEN);
	if (gmtime_r(&t, &tm) == NULL || tm.tm_year < -1900 ||
	    tm.tm_year > 9999 - 1900)
		return;
	/* Digits are placed by hand: the layout is fixed and so is the size. */
	timeutil_digits(out, (unsigned)(tm.tm_year + 1900), 4);
	timeutil_digits(out + 5, (unsigned)(tm.tm_mon + 1), 2);
	timeutil_digits(out + 8, (unsigned)tm.tm_mday, 2);
	timeutil_digits(out + 11, (unsigned)tm.tm_hour, 2);
	timeutil_digits(out + 14, (unsigned)tm.tm_min, 2);
	timeutil_digits(out + 17, (unsigned)tm.tm_sec, 2);
}
