/*
 * cmd_bundle.h: `airlock bundle ...`, the operator's workstation commands
 * for request bundles (docs/formats/bundle.md, section 4.2).
 */
#ifndef AIRLOCK_CONSOLE_CMD_BUNDLE_H
#define AIRLOCK_CONSOLE_CMD_BUNDLE_H

/*
 * Runs `airlock bundle VERB ...` with argv[0] the verb ("create"). Prints
 * its own messages; returns the exit code: 0 success, 1 the operation
 * failed, 2 usage error.
 */
int cmd_bundle(int argc, char **argv);

#endif
