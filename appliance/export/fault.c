/* fault.c: medium faults of exports and their retries (see fault.h). */
#include "export/fault.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "util/err.h"

void
export_medium_probe(const char *outbox, struct export_medium *m)
{
	struct stat sb;
	struct statvfs vf;

	memset(m, 0, sizeof(*m));
	if (outbox == NULL || lstat(outbox, &sb) != 0 || !S_ISDIR(sb.st_mode))
		return;
	m->present = 1;
	m->dev = sb.st_dev;
	m->ino = sb.st_ino;
	if (statvfs(outbox, &vf) == 0) {
		m->readonly = (vf.f_flag & ST_RDONLY) != 0;
		m->avail = (unsigned long long)vf.f_bavail *
		    (unsigned long long)vf.f_frsize;
	}
	if (access(outbox, W_OK | X_OK) != 0)
		m->readonly = 1;
}

/* 1 when msg carries the text of errno e (as fileio writes it). */
static int
fault_says(const char *msg, int e)
{
	return msg != NULL && strstr(msg, strerror(e)) != NULL;
}

enum export_fault
export_fault_classify(int code, const char *msg,
    const struct export_medium *m)
{
	if (code == 0)
		return EXPORT_FAULT_NONE;
	/* Whatever else failed, a missing medium is the thing to fix. */
	if (m != NULL && !m->present)
		return EXPORT_FAULT_ABSENT;
	if (code != ERR_IO && code != ERR_PERM && code != ERR_NOTFOUND)
		return EXPORT_FAULT_OTHER;
	/* The store's own failures (its disk full) are not the medium's. */
	if (msg != NULL && strstr(msg, "database") != NULL)
		return EXPORT_FAULT_OTHER;
	if ((m != NULL && m->readonly) || fault_says(msg, EROFS))
		return EXPORT_FAULT_READONLY;
	if (fault_says(msg, ENOSPC) || fault_says(msg, EDQUOT) ||
	    (m != NULL && m->avail == 0))
		return EXPORT_FAULT_FULL;
	if (fault_says(msg, ENOENT) || fault_says(msg, ENODEV) ||
	    fault_says(msg, ENXIO) || (msg != NULL &&
	    strstr(msg, "removed during the export") != NULL))
		return EXPORT_FAULT_ABSENT;
	if (code == ERR_PERM || fault_says(msg, EACCES))
		return EXPORT_FAULT_READONLY;
	return EXPORT_FAULT_IO;
}

const char *
export_fault_name(enum export_fault f)
{
	switch (f) {
	case EXPORT_FAULT_NONE:
		return "no fault";
	case EXPORT_FAULT_ABSENT:
		return "medium absent";
	case EXPORT_FAULT_READONLY:
		return "medium read-only";
	case EXPORT_FAULT_FULL:
		return "medium full";
	case EXPORT_FAULT_IO:
		return "medium I/O error";
	case EXPORT_FAULT_OTHER:
		break;
	}
	return "export error";
}

const char *
export_fault_advice(enum export_fault f)
{
	switch (f) {
	case EXPORT_FAULT_NONE:
		return "nothing to do";
	case EXPORT_FAULT_ABSENT:
		return "insert the medium (with outbox/)";
	case EXPORT_FAULT_READONLY:
		return "insert a writable medium (remove the write protection)";
	case EXPORT_FAULT_FULL:
		return "free space on the medium or insert a larger one";
	case EXPORT_FAULT_IO:
		return "insert another medium; this one may be failing";
	case EXPORT_FAULT_OTHER:
		break;
	}
	return "see the error; the records or keys need an officer";
}

unsigned
export_retry_delay(unsigned failures)
{
	unsigned d = EXPORT_RETRY_MIN;

	if (failures == 0)
		return 0;
	while (--failures > 0 && d < EXPORT_RETRY_MAX)
		d *= 2;
	return d < EXPORT_RETRY_MAX ? d : EXPORT_RETRY_MAX;
}

/* 1 when the medium is not the one that failed, or is better now. */
static int
fault_medium_changed(const struct export_medium *was,
    const struct export_medium *now)
{
	if (was->present != now->present)
		return 1;
	if (!now->present)
		return 0;
	return was->dev != now->dev || was->ino != now->ino ||
	    (was->readonly && !now->readonly) || now->avail > was->avail;
}

int
export_retry_due(const struct export_retry *r, const struct export_medium *m,
    time_t now)
{
	if (r->failures == 0 || now >= r->next_at)
		return 1;
	return m != NULL && fault_medium_changed(&r->medium, m);
}

int
export_retry_failed(struct export_retry *r, enum export_fault f,
    const struct export_medium *m, time_t now)
{
	int report = r->failures == 0 || r->fault != f;

	if (r->failures < 64)
		r->failures++;
	r->fault = f;
	r->next_at = now + (time_t)export_retry_delay(r->failures);
	if (m != NULL)
		r->medium = *m;
	else
		memset(&r->medium, 0, sizeof(r->medium));
	return report;
}

int
export_retry_ok(struct export_retry *r)
{
	int was = r->failures > 0;

	memset(r, 0, sizeof(*r));
	return was;
}
