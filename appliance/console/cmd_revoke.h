/*
 * cmd_revoke.h: the console's revocation verbs (airlock(1)):
 *
 *   airlock revoke TARGETS --reason R --message M [...] SIGNER
 *   airlock batch revoke ID --reason R --message M [...] SIGNER
 *   airlock revocation list [--state S] | show ID
 *
 * `revoke` makes a revocation bundle (docs/formats/bundle.md, section 6)
 * with operator/bundle_make, signed by the requester, and either writes
 * it (--out, for the medium) or hands it to airlockd (revoke-submit),
 * which judges it as it judges a bundle from inbox/.
 */
#ifndef AIRLOCK_CONSOLE_CMD_REVOKE_H
#define AIRLOCK_CONSOLE_CMD_REVOKE_H

/*
 * Each takes argv[0] = its verb ("revoke"; "revoke" after "batch";
 * "revocation") and returns the exit code: 0 success, 1 the operation
 * failed, 2 usage error.
 */
int cmd_revoke(int argc, char **argv);
int cmd_batch_revoke(int argc, char **argv);
int cmd_revocation(int argc, char **argv);

#endif
