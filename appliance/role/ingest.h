/*
 * ingest.h: the ingest role of airlockd (airlockd.8, ROLES).
 *
 * It reads and judges bundles and nothing else: no database, no HSM, no
 * network. At start it loads the configuration and the profiles (files
 * it only reads); then, for each JUDGE message, it reads the file whose
 * descriptor came with it (bounded by the size limit), runs bundle_open
 * with lookups and the transport key's decryption as requests to the
 * store role, and answers with the refusal or the accepted bundle
 * (rolebundle.h). Any message it does not expect ends it.
 */
#ifndef AIRLOCK_ROLE_INGEST_H
#define AIRLOCK_ROLE_INGEST_H

/*
 * Serves the store role on chan until it closes the channel. Returns the
 * process's exit status: 0 after the store closed, 1 on any failure or
 * protocol violation (the message went to stderr).
 */
int role_ingest_main(int chan, const char *config_path);

#endif
