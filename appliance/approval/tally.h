/*
 * tally.h: counting verified approvals against a quorum
 * (docs/formats/approval.md, section 4). Pure; the votes come from
 * approval_verify and the caller's records.
 */
#ifndef AIRLOCK_APPROVAL_TALLY_H
#define AIRLOCK_APPROVAL_TALLY_H

#include <stddef.h>

#include "approval/statement.h"
#include "util/err.h"

/* Most votes one tally takes; more is a caller's bug or an attack. */
#define APPROVAL_TALLY_MAX 64

/* One verified approval, as the tally sees it. */
struct approval_vote {
	/* 64 lower-case hex naming the person: the certificate's SHA-256,
	 * or, when the caller's records give one person several
	 * certificates, one of them chosen for all (docs/formats/
	 * approval.md, section 5). */
	const char *officer;
	enum approval_decision decision;
	const char *reason;	/* a rejection's reason; NULL for approve */
};

enum approval_state {
	APPROVAL_PENDING,	/* fewer than quorum distinct approvers */
	APPROVAL_APPROVED,	/* quorum reached, nobody rejected */
	APPROVAL_REJECTED	/* an officer rejected */
};

/* What became of each vote in a tally. */
enum approval_vote_status {
	APPROVAL_VOTE_COUNTED,		/* counted (approval or rejection) */
	APPROVAL_VOTE_REQUESTER,	/* by the requester: never counts */
	APPROVAL_VOTE_REPEAT,		/* the officer's same decision again */
	APPROVAL_VOTE_CONTRADICTS	/* the officer's other decision: refused */
};

struct approval_result {
	enum approval_state state;
	/* Distinct officers whose approval counts, and which votes they are
	 * (indexes into the votes given, in order). */
	unsigned approvals;
	size_t approvers[APPROVAL_TALLY_MAX];
	/* PENDING: how many more distinct approvers are needed. */
	unsigned needed;
	/* REJECTED: the first counted rejection (an index into the votes). */
	size_t rejection;
	/* Per vote, in the order given. */
	enum approval_vote_status status[APPROVAL_TALLY_MAX];
	/* How many votes were not counted, by why. */
	unsigned by_requester, repeats, contradictions;
};

/*
 * Counts n verified votes, in the order they were received, against
 * quorum distinct approvers. requester (64 hex, may be NULL when nobody
 * requested, as for a scheduled CRL) is the certificate of whoever asked
 * for the object. Rules:
 *  - quorum is at least 2 (ERR_INVALID) and at most APPROVAL_TALLY_MAX;
 *  - the requester's votes never count (APPROVAL_VOTE_REQUESTER);
 *  - an officer counts once: their first vote counts, the same decision
 *    again is a repeat, and the other decision afterwards is refused
 *    (APPROVAL_VOTE_CONTRADICTS): a vote is final once given, and a
 *    change of mind needs another officer's rejection;
 *  - any counted rejection rejects, however many approvals there are;
 *    the first one in order is reported;
 *  - else quorum distinct approvers approve; else the object is pending.
 * Every vote must be well formed: officer 64 lower-case hex, a reason for
 * every rejection (ERR_INVALID). More than APPROVAL_TALLY_MAX votes:
 * ERR_LIMIT. Returns 0 with *out filled.
 */
int approval_tally(const struct approval_vote *votes, size_t n,
    unsigned quorum, const char *requester, struct approval_result *out,
    err_t *err);

#endif
