/* tally.c: counting verified approvals against a quorum (tally.h). */
#include "approval/tally.h"

#include <string.h>

#include "util/text.h"

int
approval_tally(const struct approval_vote *votes, size_t n, unsigned quorum,
    const char *requester, struct approval_result *out, err_t *err)
{
	size_t i, j;
	int rejected = 0;

	if (out == NULL || (votes == NULL && n > 0))
		return err_set(err, ERR_INTERNAL, "approval_tally: missing "
		    "argument");
	memset(out, 0, sizeof(*out));
	if (quorum < 2)
		return err_set(err, ERR_INVALID, "a quorum of %u is refused: "
		    "approval needs at least two distinct officers", quorum);
	if (quorum > APPROVAL_TALLY_MAX)
		return err_set(err, ERR_INVALID, "a quorum of %u is more than "
		    "the %d votes a tally takes", quorum, APPROVAL_TALLY_MAX);
	if (n > APPROVAL_TALLY_MAX)
		return err_set(err, ERR_LIMIT, "%zu votes, more than the %d a "
		    "tally takes", n, APPROVAL_TALLY_MAX);
	if (requester != NULL && !text_is_lower_hex(requester, 64))
		return err_set(err, ERR_INVALID, "the requester is not a "
		    "certificate SHA-256 (64 lower-case hex digits)");
	for (i = 0; i < n; i++) {
		const struct approval_vote *v = &votes[i];

		if (!text_is_lower_hex(v->officer, 64))
			return err_set(err, ERR_INVALID, "vote %zu: the officer "
			    "is not a certificate SHA-256 (64 lower-case hex "
			    "digits)", i + 1);
		if (v->decision != APPROVAL_APPROVE &&
		    v->decision != APPROVAL_REJECT)
			return err_set(err, ERR_INVALID, "vote %zu: %d is not a "
			    "decision", i + 1, (int)v->decision);
		if (v->decision == APPROVAL_REJECT &&
		    (v->reason == NULL || v->reason[0] == '\0'))
			return err_set(err, ERR_INVALID, "vote %zu: a rejection "
			    "without its reason", i + 1);
	}

	for (i = 0; i < n; i++) {
		const struct approval_vote *v = &votes[i];
		int earlier = -1;

		if (requester != NULL && strcmp(v->officer, requester) == 0) {
			out->status[i] = APPROVAL_VOTE_REQUESTER;
			out->by_requester++;
			continue;
		}
		/* The officer's first counted vote is the one that stands. */
		for (j = 0; j < i && earlier < 0; j++)
			if (out->status[j] == APPROVAL_VOTE_COUNTED &&
			    strcmp(votes[j].officer, v->officer) == 0)
				earlier = (int)j;
		if (earlier >= 0) {
			if (votes[earlier].decision == v->decision) {
				out->status[i] = APPROVAL_VOTE_REPEAT;
				out->repeats++;
			} else {
				out->status[i] = APPROVAL_VOTE_CONTRADICTS;
				out->contradictions++;
			}
			continue;
		}
		out->status[i] = APPROVAL_VOTE_COUNTED;
		if (v->decision == APPROVAL_REJECT) {
			if (!rejected)
				out->rejection = i;
			rejected = 1;
		} else {
			out->approvers[out->approvals++] = i;
		}
	}
	if (rejected)
		out->state = APPROVAL_REJECTED;
	else if (out->approvals >= quorum)
		out->state = APPROVAL_APPROVED;
	else {
		out->state = APPROVAL_PENDING;
		out->needed = quorum - out->approvals;
	}
	return 0;
}
