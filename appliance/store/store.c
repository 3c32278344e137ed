/* store.c: the appliance state in SQLite (see store.h). */
#include "store/store.h"
#include "store/stmt.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define STORE_BUSY_MS 60000

struct store {
	sqlite3 *db;
	char *path;
	int version;
	sqlite3_stmt *cached[STORE_CACHED_MAX];
	/* Open store_begin levels: 1 is the transaction, more are
	 * savepoints inside it. */
	int depth;
};

/*
 * Lower-case hex, non-empty: the same value must always be the same text,
 * or UNIQUE constraints on hashes and serials would not mean anything.
 */
#define HEX(col) "(" col " <> '' AND " col " NOT GLOB '*[^0-9a-f]*')"
#define AUDIT_GENESIS_SQL \
	"0000000000000000000000000000000000000000000000000000000000000000"
#define SHA256(col) "(length(" col ") = 64 AND " col \
	" NOT GLOB '*[^0-9a-f]*')"
/*
 * Serials are spelled as certinfo_serial_hex spells them (no leading
 * zero), at most 20 octets, and never zero: one serial, one text.
 */
#define SERIAL(col) "(" HEX(col) " AND length(" col ") <= 40 AND " \
	"substr(" col ", 1, 1) <> '0')"
/* A MAC address as 12 lower-case hex digits, without separators. */
#define MAC(col) "(length(" col ") = 12 AND " col " NOT GLOB '*[^0-9a-f]*')"
/* A UUID as the manifest canonicalises it: lower case, with hyphens. */
#define UUID(col) "(length(" col ") = 36 AND substr(" col ", 9, 1) = '-' " \
	"AND substr(" col ", 14, 1) = '-' AND substr(" col ", 19, 1) = '-' " \
	"AND substr(" col ", 24, 1) = '-' AND " \
	"length(replace(" col ", '-', '')) = 32 AND " \
	"replace(" col ", '-', '') NOT GLOB '*[^0-9a-f]*')"

/*
 * Migrations, oldest first: entry i takes the schema from version i to
 * version i + 1. Entries are never edited once released; a change is a
 * new entry. STRICT tables make SQLite refuse values of the wrong type.
 */
static const char *const store_migrations[] = {
	/* Version 1: the state written by "airlock init" and ceremonies. */
	"CREATE TABLE meta ("
	"  key TEXT PRIMARY KEY CHECK (key <> ''),"
	"  value TEXT NOT NULL"
	") STRICT;"

	"CREATE TABLE ca ("
	"  id INTEGER PRIMARY KEY,"
	"  name TEXT UNIQUE NOT NULL CHECK (name <> ''),"
	"  parent_id INTEGER REFERENCES ca(id),"
	"  key_uri TEXT NOT NULL CHECK (key_uri LIKE 'pkcs11:%'),"
	"  cert_der BLOB NOT NULL CHECK (length(cert_der) > 0),"
	"  subject TEXT NOT NULL CHECK (subject <> ''),"
	"  ski TEXT NOT NULL CHECK " HEX("ski") ","
	"  sha256 TEXT UNIQUE NOT NULL CHECK " SHA256("sha256") ","
	"  not_before INTEGER NOT NULL,"
	"  not_after INTEGER NOT NULL,"
	"  is_root INTEGER NOT NULL CHECK (is_root IN (0, 1)),"
	"  purpose TEXT NOT NULL CHECK (purpose IN"
	"    ('root', 'devices', 'people', 'intermediate')),"
	"  created INTEGER NOT NULL,"
	"  CHECK (not_after > not_before),"
	"  CHECK ((purpose = 'root') = (is_root = 1)),"
	"  CHECK (is_root = 0 OR parent_id IS NULL),"
	"  CHECK (parent_id IS NULL OR parent_id <> id)"
	") STRICT;"
	"CREATE INDEX ca_parent ON ca(parent_id);"

	"CREATE TABLE person ("
	"  id INTEGER PRIMARY KEY,"
	"  name TEXT NOT NULL CHECK (name <> ''),"
	"  role TEXT NOT NULL CHECK (role IN ('officer', 'operator', 'auditor')),"
	"  ca_id INTEGER NOT NULL REFERENCES ca(id),"
	"  cert_der BLOB NOT NULL CHECK (length(cert_der) > 0),"
	"  sha256 TEXT UNIQUE NOT NULL CHECK " SHA256("sha256") ","
	"  serial TEXT NOT NULL CHECK " HEX("serial") ","
	"  subject TEXT NOT NULL CHECK (subject <> ''),"
	"  not_before INTEGER NOT NULL,"
	"  not_after INTEGER NOT NULL,"
	"  status TEXT NOT NULL DEFAULT 'active'"
	"    CHECK (status IN ('active', 'revoked', 'locked')),"
	"  created INTEGER NOT NULL,"
	"  CHECK (not_after > not_before),"
	"  UNIQUE (ca_id, serial)"
	") STRICT;"

	"CREATE TABLE appliance_key ("
	"  id INTEGER PRIMARY KEY,"
	"  purpose TEXT UNIQUE NOT NULL"
	"    CHECK (purpose IN ('export', 'audit', 'transport')),"
	"  key_uri TEXT NOT NULL CHECK (key_uri LIKE 'pkcs11:%'),"
	"  cert_der BLOB NOT NULL CHECK (length(cert_der) > 0),"
	"  sha256 TEXT UNIQUE NOT NULL CHECK " SHA256("sha256") ","
	"  not_after INTEGER NOT NULL,"
	"  created INTEGER NOT NULL"
	") STRICT;"

	/* Every certificate the appliance knows it issued. */
	"CREATE TABLE certificate ("
	"  serial TEXT NOT NULL CHECK " HEX("serial") ","
	"  ca_id INTEGER NOT NULL REFERENCES ca(id),"
	"  kind TEXT NOT NULL"
	"    CHECK (kind IN ('ca', 'person', 'appliance', 'device')),"
	"  subject TEXT NOT NULL,"
	"  sha256 TEXT UNIQUE NOT NULL CHECK " SHA256("sha256") ","
	"  not_before INTEGER NOT NULL,"
	"  not_after INTEGER NOT NULL,"
	"  der BLOB NOT NULL CHECK (length(der) > 0),"
	"  status TEXT NOT NULL DEFAULT 'valid'"
	"    CHECK (status IN ('valid', 'revoked', 'hold')),"
	"  created INTEGER NOT NULL,"
	"  CHECK (not_after > not_before),"
	"  PRIMARY KEY (ca_id, serial)"
	") STRICT;"
	"CREATE INDEX certificate_not_after ON certificate(not_after);"

	"CREATE TABLE ceremony ("
	"  id INTEGER PRIMARY KEY,"
	"  name TEXT NOT NULL CHECK (name <> ''),"
	"  type TEXT NOT NULL CHECK (type <> ''),"
	"  transcript_sha256 TEXT UNIQUE NOT NULL"
	"    CHECK " SHA256("transcript_sha256") ","
	"  signer_sha256 TEXT NOT NULL CHECK " SHA256("signer_sha256") ","
	"  ran_at INTEGER NOT NULL,"
	"  imported_at INTEGER NOT NULL"
	") STRICT;"

	"CREATE TABLE crl ("
	"  ca_id INTEGER NOT NULL REFERENCES ca(id),"
	"  number INTEGER NOT NULL CHECK (number >= 0),"
	"  this_update INTEGER NOT NULL,"
	"  next_update INTEGER NOT NULL,"
	"  der BLOB NOT NULL CHECK (length(der) > 0),"
	"  CHECK (next_update > this_update),"
	"  PRIMARY KEY (ca_id, number)"
	") STRICT;",

	/*
	 * Version 2: the batch queue (appliance/queue). Request bundles,
	 * batches and their lines, the serials reserved for lines, approvals
	 * and exports. The rules a crash or a bug must never break (a serial
	 * used twice, a line certified twice, a line signed while its batch
	 * is not issuing, a state skipped) are written here as constraints
	 * and triggers, so that no code path, old or new, can write them.
	 */
	"CREATE TABLE bundle ("
	"  id INTEGER PRIMARY KEY,"
	/* NULL when the file was refused before its manifest was read. */
	"  uuid TEXT UNIQUE CHECK (uuid IS NULL OR " UUID("uuid") "),"
	/* Of the whole file, so a replayed refused file is known too. */
	"  sha256 TEXT UNIQUE NOT NULL CHECK " SHA256("sha256") ","
	"  file_name TEXT NOT NULL CHECK (file_name <> ''),"
	"  signer_sha256 TEXT CHECK (signer_sha256 IS NULL OR "
	    SHA256("signer_sha256") "),"
	"  person_id INTEGER REFERENCES person(id),"
	"  received_at INTEGER NOT NULL,"
	"  status TEXT NOT NULL CHECK (status IN ('accepted', 'rejected')),"
	"  reason TEXT CHECK (reason IS NULL OR reason <> ''),"
	"  CHECK ((status = 'rejected') = (reason IS NOT NULL)),"
	"  CHECK (status = 'rejected' OR (uuid IS NOT NULL AND"
	"    signer_sha256 IS NOT NULL AND person_id IS NOT NULL))"
	") STRICT;"
	"CREATE INDEX bundle_person ON bundle(person_id);"

	"CREATE TABLE batch ("
	"  id INTEGER PRIMARY KEY,"
	"  bundle_id INTEGER UNIQUE NOT NULL REFERENCES bundle(id),"
	"  name TEXT NOT NULL CHECK (name <> ''),"
	"  description TEXT NOT NULL,"
	"  profile TEXT NOT NULL CHECK (profile <> ''),"
	"  ca_id INTEGER NOT NULL REFERENCES ca(id),"
	"  mode TEXT NOT NULL CHECK (mode IN ('mac-range', 'csr', 'csv')),"
	"  line_count INTEGER NOT NULL CHECK (line_count BETWEEN 1 AND 500000),"
	"  output_format TEXT NOT NULL CHECK (output_format IN ('smpb',"
	"    'pkcs12', 'pem-zip', 'pem-json', 'der-zip', 'pkcs7')),"
	"  chain TEXT NOT NULL CHECK (chain IN ('separate',"
	"    'with-intermediate', 'with-root-and-intermediate')),"
	"  results_log TEXT NOT NULL CHECK (results_log IN ('csv', 'json')),"
	"  p12_encryption TEXT CHECK (p12_encryption IS NULL OR"
	"    p12_encryption IN ('modern', 'compat')),"
	"  recipient_der BLOB CHECK (recipient_der IS NULL OR"
	"    length(recipient_der) > 0),"
	/* Wrapped by the caller: no secret is ever stored in clear. */
	"  secret_wrapped BLOB CHECK (secret_wrapped IS NULL OR"
	"    length(secret_wrapped) > 0),"
	"  data_key_wrapped BLOB CHECK (data_key_wrapped IS NULL OR"
	"    length(data_key_wrapped) > 0),"
	"  quorum INTEGER NOT NULL CHECK (quorum BETWEEN 2 AND 64),"
	"  state TEXT NOT NULL DEFAULT 'pending-approval' CHECK (state IN"
	"    ('pending-approval', 'approved', 'rejected', 'issuing',"
	"    'completed', 'partially-completed', 'failed')),"
	"  reason TEXT CHECK (reason IS NULL OR reason <> ''),"
	"  created INTEGER NOT NULL,"
	"  updated INTEGER NOT NULL,"
	"  CHECK (updated >= created),"
	"  CHECK ((state IN ('rejected', 'failed')) = (reason IS NOT NULL)),"
	"  CHECK ((output_format = 'smpb') = (recipient_der IS NOT NULL)),"
	"  CHECK ((output_format = 'pkcs12') = (p12_encryption IS NOT NULL)),"
	"  CHECK (output_format = 'pkcs12' OR secret_wrapped IS NULL),"
	"  CHECK (output_format <> 'pkcs12' OR secret_wrapped IS NOT NULL),"
	/* Generated keys leave only inside smpb or pkcs12 (issue 3). */
	"  CHECK (data_key_wrapped IS NULL OR"
	"    output_format IN ('smpb', 'pkcs12')),"
	"  CHECK (mode <> 'mac-range' OR data_key_wrapped IS NOT NULL),"
	"  CHECK (mode <> 'csr' OR data_key_wrapped IS NULL)"
	") STRICT;"
	"CREATE INDEX batch_state ON batch(state);"
	"CREATE INDEX batch_ca ON batch(ca_id);"

	"CREATE TABLE line ("
	"  batch_id INTEGER NOT NULL REFERENCES batch(id),"
	"  line INTEGER NOT NULL CHECK (line >= 1),"
	"  name TEXT NOT NULL CHECK (name <> ''),"
	"  mac TEXT CHECK (mac IS NULL OR " MAC("mac") "),"
	"  request_der BLOB CHECK (request_der IS NULL OR"
	"    length(request_der) > 0),"
	"  status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN"
	"    ('pending', 'reserved', 'issued', 'failed')),"
	"  message TEXT CHECK (message IS NULL OR message <> ''),"
	"  serial TEXT CHECK (serial IS NULL OR " SERIAL("serial") "),"
	"  tbs BLOB CHECK (tbs IS NULL OR length(tbs) > 0),"
	"  key_enc BLOB CHECK (key_enc IS NULL OR length(key_enc) > 0),"
	"  cert_der BLOB CHECK (cert_der IS NULL OR length(cert_der) > 0),"
	"  sha256 TEXT CHECK (sha256 IS NULL OR " SHA256("sha256") "),"
	"  PRIMARY KEY (batch_id, line),"
	"  CHECK ((serial IS NULL) = (tbs IS NULL)),"
	"  CHECK (status <> 'pending' OR (serial IS NULL AND"
	"    key_enc IS NULL AND message IS NULL)),"
	"  CHECK (status <> 'reserved' OR serial IS NOT NULL),"
	"  CHECK ((status = 'issued') = (cert_der IS NOT NULL)),"
	"  CHECK ((status = 'issued') = (sha256 IS NOT NULL)),"
	"  CHECK (status <> 'issued' OR serial IS NOT NULL),"
	"  CHECK ((status = 'failed') = (message IS NOT NULL)),"
	/*
	 * A line signed without a request carries a key the appliance made;
	 * it must be stored (encrypted) before the certificate exists, or a
	 * crash would leave a certificate whose key is lost.
	 */
	"  CHECK (status NOT IN ('reserved', 'issued') OR"
	"    ((request_der IS NULL) = (key_enc IS NOT NULL)))"
	") STRICT;"
	"CREATE INDEX line_status ON line(batch_id, status, line);"
	"CREATE UNIQUE INDEX line_name ON line(batch_id, name);"
	"CREATE UNIQUE INDEX line_batch_mac ON line(batch_id, mac)"
	"  WHERE mac IS NOT NULL;"
	"CREATE INDEX line_mac ON line(mac) WHERE mac IS NOT NULL;"

	/*
	 * A serial is taken for ever once reserved, even when its line then
	 * fails, so that no serial is ever used for two TBS.
	 */
	"CREATE TABLE serial_reservation ("
	"  ca_id INTEGER NOT NULL REFERENCES ca(id),"
	"  serial TEXT NOT NULL CHECK " SERIAL("serial") ","
	"  batch_id INTEGER NOT NULL,"
	"  line INTEGER NOT NULL,"
	"  PRIMARY KEY (ca_id, serial),"
	"  UNIQUE (batch_id, line),"
	"  FOREIGN KEY (batch_id, line) REFERENCES line(batch_id, line)"
	") STRICT, WITHOUT ROWID;"

	"CREATE TABLE approval ("
	"  id INTEGER PRIMARY KEY,"
	"  kind TEXT NOT NULL CHECK (kind IN ('batch', 'revocation', 'crl',"
	"    'export', 'lockout-clear')),"
	"  object INTEGER NOT NULL CHECK (object >= 1),"
	"  officer_sha256 TEXT NOT NULL CHECK " SHA256("officer_sha256") ","
	"  person_id INTEGER REFERENCES person(id),"
	"  decision TEXT NOT NULL CHECK (decision IN ('approve', 'reject')),"
	"  reason TEXT,"
	/* What the statement names: a statement over another never counts. */
	"  digest TEXT NOT NULL CHECK " SHA256("digest") ","
	"  statement BLOB NOT NULL CHECK (length(statement) BETWEEN 1 AND 4096),"
	"  signature BLOB NOT NULL CHECK (length(signature) > 0),"
	"  at INTEGER NOT NULL,"
	"  CHECK ((decision = 'reject') = (reason IS NOT NULL AND"
	"    reason <> '')),"
	"  CHECK (decision = 'reject' OR reason IS NULL),"
	"  UNIQUE (kind, object, officer_sha256)"
	") STRICT;"

	"CREATE TABLE export ("
	"  id INTEGER PRIMARY KEY,"
	"  batch_id INTEGER NOT NULL REFERENCES batch(id),"
	"  number INTEGER NOT NULL CHECK (number >= 1),"
	"  state TEXT NOT NULL CHECK (state IN ('pending-approval',"
	"    'approved', 'written', 'failed')),"
	"  dir TEXT CHECK (dir IS NULL OR dir <> ''),"
	"  manifest_sha256 TEXT CHECK (manifest_sha256 IS NULL OR "
	    SHA256("manifest_sha256") "),"
	"  created INTEGER NOT NULL,"
	"  written INTEGER,"
	/* The batch approval covers the first export, and only that one. */
	"  CHECK (number >= 2 OR state <> 'pending-approval'),"
	"  CHECK ((state = 'written') = (written IS NOT NULL)),"
	"  CHECK (state <> 'written' OR (dir IS NOT NULL AND"
	"    manifest_sha256 IS NOT NULL)),"
	"  UNIQUE (batch_id, number)"
	") STRICT;"

	/*
	 * ADD COLUMN cannot add a table constraint, so the pairing of the
	 * two columns is a CHECK on the second, and a certificate's link to
	 * its line is kept by the triggers below.
	 */
	"ALTER TABLE certificate ADD COLUMN batch_id INTEGER"
	"  REFERENCES batch(id);"
	"ALTER TABLE certificate ADD COLUMN line INTEGER"
	"  CHECK ((line IS NULL) = (batch_id IS NULL) AND"
	"  (line IS NULL OR (line >= 1 AND kind = 'device')));"
	/* The database itself refuses a second certificate for a line. */
	"CREATE UNIQUE INDEX certificate_batch_line ON certificate(batch_id,"
	"  line) WHERE batch_id IS NOT NULL;"

	/* A batch moves only along the lifecycle of issue 3. */
	"CREATE TRIGGER batch_state_moves BEFORE UPDATE OF state ON batch"
	"  WHEN NEW.state IS NOT OLD.state AND NOT ("
	"    (OLD.state = 'pending-approval' AND"
	"     NEW.state IN ('approved', 'rejected')) OR"
	"    (OLD.state = 'approved' AND NEW.state = 'issuing') OR"
	"    (OLD.state = 'issuing' AND NEW.state IN ('completed',"
	"     'partially-completed', 'failed')))"
	" BEGIN SELECT RAISE(ABORT, 'batch state cannot move that way'); END;"
	/* What the approvers saw is what gets signed. */
	"CREATE TRIGGER batch_fixed BEFORE UPDATE ON batch"
	"  WHEN NEW.id IS NOT OLD.id OR NEW.bundle_id IS NOT OLD.bundle_id OR"
	"    NEW.name IS NOT OLD.name OR"
	"    NEW.description IS NOT OLD.description OR"
	"    NEW.profile IS NOT OLD.profile OR NEW.ca_id IS NOT OLD.ca_id OR"
	"    NEW.mode IS NOT OLD.mode OR NEW.line_count IS NOT OLD.line_count OR"
	"    NEW.output_format IS NOT OLD.output_format OR"
	"    NEW.chain IS NOT OLD.chain OR"
	"    NEW.results_log IS NOT OLD.results_log OR"
	"    NEW.p12_encryption IS NOT OLD.p12_encryption OR"
	"    NEW.recipient_der IS NOT OLD.recipient_der OR"
	"    NEW.quorum IS NOT OLD.quorum OR NEW.created IS NOT OLD.created"
	" BEGIN SELECT RAISE(ABORT, 'a batch cannot change once created'); END;"
	"CREATE TRIGGER batch_kept BEFORE DELETE ON batch"
	" BEGIN SELECT RAISE(ABORT, 'batches are kept'); END;"

	/*
	 * Line status: pending -> reserved | failed, reserved -> issued |
	 * failed; issued and failed are final. What was reserved (serial,
	 * TBS, key) never changes, so a restart re-signs the same TBS.
	 */
	"CREATE TRIGGER line_final BEFORE UPDATE ON line"
	"  WHEN OLD.status IN ('issued', 'failed')"
	" BEGIN SELECT RAISE(ABORT, 'an issued or failed line is final'); END;"
	"CREATE TRIGGER line_status_moves BEFORE UPDATE ON line"
	"  WHEN NEW.status IS NOT OLD.status AND NOT ("
	"    (OLD.status = 'pending' AND NEW.status IN ('reserved', 'failed'))"
	"    OR (OLD.status = 'reserved' AND NEW.status IN ('issued',"
	"    'failed')))"
	" BEGIN SELECT RAISE(ABORT, 'line status cannot move that way'); END;"
	"CREATE TRIGGER line_fixed BEFORE UPDATE ON line"
	"  WHEN NEW.batch_id IS NOT OLD.batch_id OR NEW.line IS NOT OLD.line OR"
	"    NEW.name IS NOT OLD.name OR NEW.mac IS NOT OLD.mac OR"
	"    NEW.request_der IS NOT OLD.request_der OR"
	"    (OLD.status = 'reserved' AND (NEW.serial IS NOT OLD.serial OR"
	"    NEW.tbs IS NOT OLD.tbs OR NEW.key_enc IS NOT OLD.key_enc))"
	" BEGIN SELECT RAISE(ABORT, 'a reserved line keeps its request,"
	" serial, TBS and key'); END;"
	"CREATE TRIGGER line_signed_while_issuing BEFORE UPDATE ON line"
	"  WHEN NEW.status IN ('reserved', 'issued') AND"
	"    NEW.status IS NOT OLD.status AND"
	"    (SELECT state FROM batch WHERE id = NEW.batch_id) IS NOT 'issuing'"
	" BEGIN SELECT RAISE(ABORT, 'a line is signed only while its batch is"
	" issuing'); END;"
	"CREATE TRIGGER line_reserved_serial BEFORE UPDATE ON line"
	"  WHEN NEW.status = 'reserved' AND OLD.status = 'pending' AND"
	"    NOT EXISTS (SELECT 1 FROM serial_reservation r, batch b"
	"    WHERE b.id = NEW.batch_id AND r.ca_id = b.ca_id AND"
	"    r.serial = NEW.serial AND r.batch_id = NEW.batch_id AND"
	"    r.line = NEW.line)"
	" BEGIN SELECT RAISE(ABORT, 'a reserved line needs its serial"
	" reservation'); END;"
	"CREATE TRIGGER line_issued_certificate BEFORE UPDATE ON line"
	"  WHEN NEW.status = 'issued' AND OLD.status = 'reserved' AND"
	"    NOT EXISTS (SELECT 1 FROM certificate c WHERE"
	"    c.batch_id = NEW.batch_id AND c.line = NEW.line AND"
	"    c.serial = NEW.serial AND c.sha256 = NEW.sha256)"
	" BEGIN SELECT RAISE(ABORT, 'an issued line needs its certificate"
	" record'); END;"
	"CREATE TRIGGER line_kept BEFORE DELETE ON line"
	" BEGIN SELECT RAISE(ABORT, 'batch lines are kept'); END;"

	"CREATE TRIGGER serial_reservation_fixed BEFORE UPDATE ON"
	"  serial_reservation"
	" BEGIN SELECT RAISE(ABORT, 'a serial reservation is permanent'); END;"
	"CREATE TRIGGER serial_reservation_kept BEFORE DELETE ON"
	"  serial_reservation"
	" BEGIN SELECT RAISE(ABORT, 'a serial reservation is permanent'); END;"
	"CREATE TRIGGER serial_reservation_unused BEFORE INSERT ON"
	"  serial_reservation"
	"  WHEN EXISTS (SELECT 1 FROM certificate c WHERE"
	"    c.ca_id = NEW.ca_id AND c.serial = NEW.serial)"
	" BEGIN SELECT RAISE(ABORT, 'serial already issued by this CA'); END;"

	/*
	 * A certificate for a batch line carries exactly the serial reserved
	 * for that line; any other certificate stays off reserved serials.
	 */
	"CREATE TRIGGER certificate_line_serial BEFORE INSERT ON certificate"
	"  WHEN NEW.batch_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM"
	"    serial_reservation r WHERE r.ca_id = NEW.ca_id AND"
	"    r.serial = NEW.serial AND r.batch_id = NEW.batch_id AND"
	"    r.line = NEW.line)"
	" BEGIN SELECT RAISE(ABORT, 'the certificate does not carry the serial"
	" reserved for its line'); END;"
	"CREATE TRIGGER certificate_off_reserved BEFORE INSERT ON certificate"
	"  WHEN NEW.batch_id IS NULL AND EXISTS (SELECT 1 FROM"
	"    serial_reservation r WHERE r.ca_id = NEW.ca_id AND"
	"    r.serial = NEW.serial)"
	" BEGIN SELECT RAISE(ABORT, 'serial is reserved for a batch line'); END;"
	"CREATE TRIGGER certificate_identity_fixed BEFORE UPDATE OF serial,"
	"  ca_id, der, sha256, batch_id, line ON certificate"
	" BEGIN SELECT RAISE(ABORT, 'a certificate record keeps its serial,"
	" issuer, encoding and line'); END;",

	/* Version 3: what approvers see of a batch's keys, and lookups of a
	 * device name across batches (duplicates per profile). */
	"ALTER TABLE batch ADD COLUMN key_types TEXT"
	"  CHECK (key_types IS NULL OR key_types <> '');"
	"CREATE INDEX line_name_any ON line(name);"
	/* A csv line's subject fields and SANs (queue.h says the form). */
	"ALTER TABLE line ADD COLUMN fields TEXT"
	"  CHECK (fields IS NULL OR fields <> '');"
	/* What the profile changed of the request, kept for the results. */
	"ALTER TABLE line ADD COLUMN note TEXT"
	"  CHECK (note IS NULL OR note <> '');"
	"CREATE INDEX batch_profile ON batch(profile);",

	/*
	 * Version 4: revocation, CRL issuance and the inventory (issue 4).
	 * A revocation request comes as a signed bundle (from the medium or
	 * made at the console), names certificates in items, and takes
	 * effect only once approved and applied. A CRL is issued for a
	 * request that officers approved; its number is taken (crl_number)
	 * before anything is signed and is never handed out again.
	 */
	"CREATE TABLE revocation ("
	"  id INTEGER PRIMARY KEY,"
	"  bundle_id INTEGER UNIQUE NOT NULL REFERENCES bundle(id),"
	"  person_id INTEGER NOT NULL REFERENCES person(id),"
	"  requester_sha256 TEXT NOT NULL CHECK " SHA256("requester_sha256") ","
	/* removeFromCRL releases a hold; every other reason revokes. */
	"  reason TEXT NOT NULL CHECK (reason IN ('unspecified',"
	"    'keyCompromise', 'cACompromise', 'affiliationChanged',"
	"    'superseded', 'cessationOfOperation', 'certificateHold',"
	"    'privilegeWithdrawn', 'aACompromise', 'removeFromCRL')),"
	"  message TEXT NOT NULL CHECK (message <> ''),"
	"  invalidity_date INTEGER,"
	"  state TEXT NOT NULL CHECK (state IN ('pending-approval',"
	"    'approved', 'rejected', 'applied')),"
	"  reject_reason TEXT CHECK (reject_reason IS NULL OR"
	"    reject_reason <> ''),"
	"  item_count INTEGER NOT NULL CHECK (item_count >= 1),"
	"  quorum INTEGER NOT NULL CHECK (quorum >= 2),"
	"  created INTEGER NOT NULL,"
	"  applied INTEGER,"
	"  CHECK ((state = 'rejected') = (reject_reason IS NOT NULL)),"
	"  CHECK ((state = 'applied') = (applied IS NOT NULL)),"
	"  CHECK (reason NOT IN ('removeFromCRL', 'certificateHold') OR"
	"    invalidity_date IS NULL OR reason = 'certificateHold')"
	") STRICT;"
	"CREATE INDEX revocation_state ON revocation(state);"
	"CREATE TRIGGER revocation_state_moves BEFORE UPDATE OF state ON"
	"  revocation WHEN NEW.state IS NOT OLD.state AND NOT ("
	"    (OLD.state = 'pending-approval' AND"
	"     NEW.state IN ('approved', 'rejected')) OR"
	"    (OLD.state = 'approved' AND NEW.state = 'applied'))"
	" BEGIN SELECT RAISE(ABORT, 'revocation state cannot move that way');"
	" END;"
	"CREATE TRIGGER revocation_fixed BEFORE UPDATE ON revocation"
	"  WHEN NEW.id IS NOT OLD.id OR NEW.bundle_id IS NOT OLD.bundle_id OR"
	"    NEW.person_id IS NOT OLD.person_id OR"
	"    NEW.requester_sha256 IS NOT OLD.requester_sha256 OR"
	"    NEW.reason IS NOT OLD.reason OR NEW.message IS NOT OLD.message OR"
	"    NEW.invalidity_date IS NOT OLD.invalidity_date OR"
	"    NEW.item_count IS NOT OLD.item_count OR"
	"    NEW.quorum IS NOT OLD.quorum OR NEW.created IS NOT OLD.created"
	" BEGIN SELECT RAISE(ABORT, 'a revocation request cannot change once"
	" created'); END;"
	"CREATE TRIGGER revocation_kept BEFORE DELETE ON revocation"
	" BEGIN SELECT RAISE(ABORT, 'revocation requests are kept'); END;"

	/* One certificate a request names; line is the request's line. */
	"CREATE TABLE revocation_item ("
	"  revocation_id INTEGER NOT NULL REFERENCES revocation(id),"
	"  ca_id INTEGER NOT NULL,"
	"  serial TEXT NOT NULL CHECK " SERIAL("serial") ","
	"  line INTEGER NOT NULL CHECK (line >= 1),"
	"  target TEXT NOT NULL CHECK (target <> ''),"
	"  PRIMARY KEY (revocation_id, ca_id, serial),"
	"  FOREIGN KEY (ca_id, serial) REFERENCES certificate(ca_id, serial)"
	") STRICT, WITHOUT ROWID;"
	"CREATE INDEX revocation_item_cert ON revocation_item(ca_id, serial);"
	"CREATE TRIGGER revocation_item_fixed BEFORE UPDATE ON revocation_item"
	" BEGIN SELECT RAISE(ABORT, 'revocation items are fixed'); END;"
	"CREATE TRIGGER revocation_item_kept BEFORE DELETE ON revocation_item"
	" BEGIN SELECT RAISE(ABORT, 'revocation items are kept'); END;"

	/*
	 * A certificate's revocation: when, why (the CRL reason), the
	 * invalidity date, and which request did it. A hold may be released
	 * (back to valid, the fields cleared) or made final; a revocation
	 * is final.
	 */
	"ALTER TABLE certificate ADD COLUMN revoked_at INTEGER;"
	"ALTER TABLE certificate ADD COLUMN reason TEXT CHECK (reason IS NULL"
	"  OR reason IN ('unspecified', 'keyCompromise', 'cACompromise',"
	"  'affiliationChanged', 'superseded', 'cessationOfOperation',"
	"  'certificateHold', 'privilegeWithdrawn', 'aACompromise'));"
	"ALTER TABLE certificate ADD COLUMN invalidity_date INTEGER;"
	"ALTER TABLE certificate ADD COLUMN revocation_id INTEGER"
	"  REFERENCES revocation(id);"
	"CREATE INDEX certificate_revoked ON certificate(ca_id, status)"
	"  WHERE status <> 'valid';"
	"CREATE INDEX certificate_batch ON certificate(batch_id)"
	"  WHERE batch_id IS NOT NULL;"
	"CREATE INDEX certificate_subject ON certificate(subject);"
	"CREATE TRIGGER certificate_status_moves BEFORE UPDATE OF status ON"
	"  certificate WHEN NEW.status IS NOT OLD.status AND NOT ("
	"    (OLD.status = 'valid' AND NEW.status IN ('revoked', 'hold')) OR"
	"    (OLD.status = 'hold' AND NEW.status IN ('revoked', 'valid')))"
	" BEGIN SELECT RAISE(ABORT, 'certificate status cannot move that way');"
	" END;"
	"CREATE TRIGGER certificate_revocation_shape BEFORE UPDATE ON"
	"  certificate WHEN NOT ("
	"    (NEW.status = 'valid' AND NEW.revoked_at IS NULL AND"
	"     NEW.reason IS NULL AND NEW.invalidity_date IS NULL) OR"
	"    (NEW.status = 'hold' AND NEW.revoked_at IS NOT NULL AND"
	"     NEW.reason = 'certificateHold' AND"
	"     NEW.revocation_id IS NOT NULL) OR"
	"    (NEW.status = 'revoked' AND NEW.revoked_at IS NOT NULL AND"
	"     NEW.reason IS NOT NULL AND NEW.reason <> 'certificateHold' AND"
	"     NEW.revocation_id IS NOT NULL))"
	" BEGIN SELECT RAISE(ABORT, 'a certificate''s status and revocation"
	" fields disagree'); END;"
	"CREATE TRIGGER certificate_kept BEFORE DELETE ON certificate"
	" BEGIN SELECT RAISE(ABORT, 'certificate records are kept'); END;"

	/* A CRL issuance, from request to the signed CRL. */
	"CREATE TABLE crl_request ("
	"  id INTEGER PRIMARY KEY,"
	"  ca_id INTEGER NOT NULL REFERENCES ca(id),"
	/* Why: 'console' (an officer asked), or 'revocation #N'. */
	"  cause TEXT NOT NULL CHECK (cause <> ''),"
	"  requested_by TEXT NOT NULL CHECK (requested_by <> ''),"
	"  state TEXT NOT NULL CHECK (state IN ('pending-approval',"
	"    'approved', 'rejected', 'issued')),"
	"  reject_reason TEXT CHECK (reject_reason IS NULL OR"
	"    reject_reason <> ''),"
	"  quorum INTEGER NOT NULL CHECK (quorum >= 2),"
	"  created INTEGER NOT NULL,"
	/* The CRL that fulfilled the request. */
	"  number INTEGER,"
	"  issued INTEGER,"
	"  CHECK ((state = 'rejected') = (reject_reason IS NOT NULL)),"
	"  CHECK ((state = 'issued') = (issued IS NOT NULL AND"
	"    number IS NOT NULL))"
	") STRICT;"
	"CREATE INDEX crl_request_state ON crl_request(state);"
	"CREATE TRIGGER crl_request_state_moves BEFORE UPDATE OF state ON"
	"  crl_request WHEN NEW.state IS NOT OLD.state AND NOT ("
	"    (OLD.state = 'pending-approval' AND"
	"     NEW.state IN ('approved', 'rejected')) OR"
	"    (OLD.state = 'approved' AND NEW.state = 'issued'))"
	" BEGIN SELECT RAISE(ABORT, 'CRL request state cannot move that way');"
	" END;"
	"CREATE TRIGGER crl_request_fixed BEFORE UPDATE ON crl_request"
	"  WHEN NEW.id IS NOT OLD.id OR NEW.ca_id IS NOT OLD.ca_id OR"
	"    NEW.cause IS NOT OLD.cause OR"
	"    NEW.requested_by IS NOT OLD.requested_by OR"
	"    NEW.quorum IS NOT OLD.quorum OR NEW.created IS NOT OLD.created"
	" BEGIN SELECT RAISE(ABORT, 'a CRL request cannot change once"
	" created'); END;"
	"CREATE TRIGGER crl_request_kept BEFORE DELETE ON crl_request"
	" BEGIN SELECT RAISE(ABORT, 'CRL requests are kept'); END;"

	/*
	 * Every CRL number ever taken, in its own committed transaction
	 * before the CRL is built and signed: a crash after the signature
	 * leaves the number taken, and the next attempt takes a higher one,
	 * so no number ever names two different CRLs.
	 */
	"CREATE TABLE crl_number ("
	"  ca_id INTEGER NOT NULL REFERENCES ca(id),"
	"  number INTEGER NOT NULL CHECK (number >= 0),"
	"  request_id INTEGER REFERENCES crl_request(id),"
	"  taken INTEGER NOT NULL,"
	"  PRIMARY KEY (ca_id, number)"
	") STRICT, WITHOUT ROWID;"
	"CREATE TRIGGER crl_number_rises BEFORE INSERT ON crl_number"
	"  WHEN NEW.number <= coalesce((SELECT max(number) FROM crl_number"
	"    WHERE ca_id = NEW.ca_id), -1) OR"
	"    NEW.number <= coalesce((SELECT max(number) FROM crl"
	"    WHERE ca_id = NEW.ca_id), -1)"
	" BEGIN SELECT RAISE(ABORT, 'a CRL number must be higher than every"
	" number the CA took'); END;"
	"CREATE TRIGGER crl_number_kept BEFORE DELETE ON crl_number"
	" BEGIN SELECT RAISE(ABORT, 'CRL numbers are kept'); END;"
	"CREATE TRIGGER crl_number_fixed BEFORE UPDATE ON crl_number"
	" BEGIN SELECT RAISE(ABORT, 'CRL numbers are fixed'); END;"

	/* What a CRL holds and where it came from; CRLs are kept. */
	"ALTER TABLE crl ADD COLUMN sha256 TEXT CHECK (sha256 IS NULL OR "
	    SHA256("sha256") ");"
	"ALTER TABLE crl ADD COLUMN entries INTEGER CHECK (entries IS NULL OR"
	"  entries >= 0);"
	"ALTER TABLE crl ADD COLUMN request_id INTEGER"
	"  REFERENCES crl_request(id);"
	/* Written to the medium: NULL until then, a time once done. */
	"ALTER TABLE crl ADD COLUMN exported INTEGER;"
	"ALTER TABLE crl ADD COLUMN export_dir TEXT"
	"  CHECK (export_dir IS NULL OR export_dir <> '');"
	/* (An equal number is the primary key's to refuse: ERR_EXISTS.) */
	"CREATE TRIGGER crl_rises BEFORE INSERT ON crl"
	"  WHEN NEW.number < coalesce((SELECT max(number) FROM crl"
	"    WHERE ca_id = NEW.ca_id), -1)"
	" BEGIN SELECT RAISE(ABORT, 'a CRL number must be higher than the"
	" CA''s last CRL'); END;"
	"CREATE TRIGGER crl_fixed BEFORE UPDATE OF ca_id, number, this_update,"
	"  next_update, der, sha256, entries, request_id ON crl"
	" BEGIN SELECT RAISE(ABORT, 'a CRL record is fixed'); END;"
	"CREATE TRIGGER crl_kept BEFORE DELETE ON crl"
	" BEGIN SELECT RAISE(ABORT, 'CRLs are kept'); END;",

	/*
	 * Version 5: the audit log (audit/log.h, docs/formats/audit.md).
	 * Records form a SHA-256 chain; the triggers refuse a record that
	 * does not extend the chain's head, and any change or removal, so
	 * that a bug or a second connection can never fork or rewrite it.
	 * Checkpoints are the head signed by the audit key in the HSM.
	 */
	"CREATE TABLE audit_record ("
	"  seq INTEGER PRIMARY KEY CHECK (seq >= 1),"
	"  time INTEGER NOT NULL,"
	"  actor_sha256 TEXT NOT NULL CHECK (actor_sha256 = '' OR "
	    SHA256("actor_sha256") "),"
	"  actor_name TEXT NOT NULL,"
	"  role TEXT NOT NULL CHECK (role <> ''),"
	"  action TEXT NOT NULL CHECK (action <> ''),"
	"  outcome TEXT NOT NULL CHECK (outcome IN ('ok', 'refused',"
	"    'failed')),"
	"  objects TEXT NOT NULL,"
	"  details TEXT NOT NULL,"
	"  prev TEXT NOT NULL CHECK " SHA256("prev") ","
	"  hash TEXT NOT NULL CHECK " SHA256("hash")
	") STRICT;"
	"CREATE INDEX audit_record_action ON audit_record(action);"
	"CREATE TRIGGER audit_record_extends BEFORE INSERT ON audit_record"
	"  WHEN NEW.seq IS NOT coalesce((SELECT max(seq) FROM audit_record),"
	"    0) + 1 OR NEW.prev IS NOT coalesce((SELECT hash FROM audit_record"
	"    WHERE seq = NEW.seq - 1), '" AUDIT_GENESIS_SQL "')"
	" BEGIN SELECT RAISE(ABORT, 'an audit record must extend the chain''s"
	" head'); END;"
	"CREATE TRIGGER audit_record_fixed BEFORE UPDATE ON audit_record"
	" BEGIN SELECT RAISE(ABORT, 'audit records are fixed'); END;"
	"CREATE TRIGGER audit_record_kept BEFORE DELETE ON audit_record"
	" BEGIN SELECT RAISE(ABORT, 'audit records are kept'); END;"
	"CREATE TABLE audit_checkpoint ("
	"  id INTEGER PRIMARY KEY,"
	"  seq INTEGER NOT NULL REFERENCES audit_record(seq),"
	"  hash TEXT NOT NULL CHECK " SHA256("hash") ","
	"  time INTEGER NOT NULL,"
	"  key_sha256 TEXT NOT NULL CHECK " SHA256("key_sha256") ","
	"  signature BLOB NOT NULL CHECK (length(signature) BETWEEN 1 AND"
	"    1024),"
	/* Why it was made: "activation", "batch-completed", ... */
	"  reason TEXT NOT NULL CHECK (reason <> '')"
	") STRICT;"
	"CREATE INDEX audit_checkpoint_seq ON audit_checkpoint(seq);"
	"CREATE TRIGGER audit_checkpoint_signs_head BEFORE INSERT ON"
	"  audit_checkpoint WHEN NEW.hash IS NOT (SELECT hash FROM"
	"    audit_record WHERE seq = NEW.seq) OR NEW.seq < coalesce((SELECT"
	"    max(seq) FROM audit_checkpoint), 0)"
	" BEGIN SELECT RAISE(ABORT, 'a checkpoint must sign a recorded hash,"
	" never going back'); END;"
	"CREATE TRIGGER audit_checkpoint_fixed BEFORE UPDATE ON audit_checkpoint"
	" BEGIN SELECT RAISE(ABORT, 'checkpoints are fixed'); END;"
	"CREATE TRIGGER audit_checkpoint_kept BEFORE DELETE ON audit_checkpoint"
	" BEGIN SELECT RAISE(ABORT, 'checkpoints are kept'); END;",

	/*
	 * Version 6: lock-outs (queue/lockout.h). Failed logins to the CA
	 * token and failed approvals of an enrolled person are counted per
	 * credential (the token's label, the person's certificate SHA-256);
	 * at the configured limit a lock-out is opened, which only two
	 * officers' approvals of kind lockout-clear close. At most one
	 * lock-out per credential is open; closed ones are kept.
	 */
	"CREATE TABLE credential_failure ("
	"  kind TEXT NOT NULL CHECK (kind IN ('token', 'person')),"
	"  credential TEXT NOT NULL CHECK (credential <> ''),"
	"  failures INTEGER NOT NULL CHECK (failures >= 0),"
	"  last_failure INTEGER NOT NULL,"
	"  PRIMARY KEY (kind, credential)"
	") STRICT, WITHOUT ROWID;"
	"CREATE TABLE lockout ("
	"  id INTEGER PRIMARY KEY,"
	"  kind TEXT NOT NULL CHECK (kind IN ('token', 'person')),"
	"  credential TEXT NOT NULL CHECK (credential <> ''),"
	"  person_id INTEGER REFERENCES person(id),"
	"  failures INTEGER NOT NULL CHECK (failures >= 1),"
	"  locked_at INTEGER NOT NULL,"
	"  state TEXT NOT NULL CHECK (state IN ('locked', 'cleared')),"
	"  quorum INTEGER NOT NULL CHECK (quorum >= 2),"
	"  cleared_at INTEGER,"
	"  CHECK ((state = 'cleared') = (cleared_at IS NOT NULL)),"
	"  CHECK ((kind = 'person') = (person_id IS NOT NULL)),"
	"  CHECK (kind <> 'person' OR " SHA256("credential") ")"
	") STRICT;"
	"CREATE UNIQUE INDEX lockout_open ON lockout(kind, credential)"
	"  WHERE state = 'locked';"
	"CREATE TRIGGER lockout_state_moves BEFORE UPDATE OF state ON lockout"
	"  WHEN NEW.state IS NOT OLD.state AND NOT (OLD.state = 'locked' AND"
	"    NEW.state = 'cleared')"
	" BEGIN SELECT RAISE(ABORT, 'a lock-out is only ever cleared'); END;"
	"CREATE TRIGGER lockout_fixed BEFORE UPDATE ON lockout"
	"  WHEN NEW.id IS NOT OLD.id OR NEW.kind IS NOT OLD.kind OR"
	"    NEW.credential IS NOT OLD.credential OR"
	"    NEW.person_id IS NOT OLD.person_id OR"
	"    NEW.failures IS NOT OLD.failures OR"
	"    NEW.locked_at IS NOT OLD.locked_at OR NEW.quorum IS NOT OLD.quorum"
	" BEGIN SELECT RAISE(ABORT, 'a lock-out cannot change once made'); END;"
	"CREATE TRIGGER lockout_kept BEFORE DELETE ON lockout"
	" BEGIN SELECT RAISE(ABORT, 'lock-outs are kept'); END;",
};

#define STORE_LATEST \
	((int)(sizeof(store_migrations) / sizeof(store_migrations[0])))

int
store_exec(struct store *s, const char *sql, err_t *err)
{
	char *msg = NULL;
	int rc;

	rc = sqlite3_exec(s->db, sql, NULL, NULL, &msg);
	if (rc != SQLITE_OK) {
		int code = (rc & 0xff) == SQLITE_CONSTRAINT ? ERR_INVALID :
		    (rc & 0xff) == SQLITE_NOMEM ? ERR_NOMEM : ERR_IO;

		if ((rc & 0xff) == SQLITE_FULL)
			(void)store_sqlerr(s, code, sql, err);
		else
			err_set(err, code, "%s: %s", s->path,
			    msg ? msg : sqlite3_errstr(rc));
		sqlite3_free(msg);
		return code;
	}
	return 0;
}

/* Runs a single-row PRAGMA or query and copies its first column. */
static int
store_query_text(struct store *s, const char *sql, char *out, size_t outsz,
    err_t *err)
{
	sqlite3_stmt *st = NULL;
	const unsigned char *v;
	int rc;

	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
		return store_sqlerr(s, ERR_IO, sql, err);
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		int r = store_sqlerr(s, ERR_IO, sql, err);

		sqlite3_finalize(st);
		return r;
	}
	v = sqlite3_column_text(st, 0);
	snprintf(out, outsz, "%s", v ? (const char *)v : "");
	sqlite3_finalize(st);
	return 0;
}

static int
store_query_int(struct store *s, const char *sql, int *out, err_t *err)
{
	char buf[32];
	long v;
	char *end;
	int r;

	if ((r = store_query_text(s, sql, buf, sizeof(buf), err)) != 0)
		return r;
	errno = 0;
	v = strtol(buf, &end, 10);
	if (errno != 0 || end == buf || *end != '\0' || v < INT_MIN ||
	    v > INT_MAX)
		return err_set(err, ERR_INVALID, "%s: %s gave '%s', not a "
		    "number", s->path, sql, buf);
	*out = (int)v;
	return 0;
}

int
store_cached(struct store *s, unsigned slot, const char *sql,
    sqlite3_stmt **out, err_t *err)
{
	if (slot >= STORE_CACHED_MAX)
		return err_set(err, ERR_INTERNAL, "statement slot %u", slot);
	if (s->cached[slot] == NULL && sqlite3_prepare_v3(s->db, sql, -1,
	    SQLITE_PREPARE_PERSISTENT, &s->cached[slot], NULL) != SQLITE_OK) {
		s->cached[slot] = NULL;
		return err_set(err, ERR_INTERNAL, "%s: prepare: %s", s->path,
		    sqlite3_errmsg(s->db));
	}
	sqlite3_reset(s->cached[slot]);
	sqlite3_clear_bindings(s->cached[slot]);
	*out = s->cached[slot];
	return 0;
}

int
store_in_transaction(struct store *s)
{
	return !sqlite3_get_autocommit(s->db);
}

/*
 * SQLite ends a transaction by itself on some errors (disk full, I/O,
 * out of memory); the levels we counted then no longer exist.
 */
static void
store_depth_sync(struct store *s)
{
	if (sqlite3_get_autocommit(s->db))
		s->depth = 0;
}

int
store_begin(struct store *s, err_t *err)
{
	int r;

	store_depth_sync(s);
	if (s->depth == 0) {
		if ((r = store_exec(s, "BEGIN IMMEDIATE", err)) != 0)
			return r;
	} else {
		char sql[48];

		snprintf(sql, sizeof(sql), "SAVEPOINT airlock_%d", s->depth);
		if ((r = store_exec(s, sql, err)) != 0)
			return r;
	}
	s->depth++;
	return 0;
}

int
store_commit(struct store *s, err_t *err)
{
	char sql[48];
	int r;

	store_depth_sync(s);
	if (s->depth <= 1) {
		s->depth = 0;
		if ((r = store_exec(s, "COMMIT", err)) != 0)
			store_rollback(s);
		return r;
	}
	s->depth--;
	snprintf(sql, sizeof(sql), "RELEASE airlock_%d", s->depth);
	if ((r = store_exec(s, sql, err)) != 0)
		store_rollback(s);
	return r;
}

int
store_end(struct store *s, int r, err_t *err)
{
	if (r != 0) {
		store_rollback(s);
		return r;
	}
	return store_commit(s, err);
}

void
store_rollback(struct store *s)
{
	if (s == NULL)
		return;
	store_depth_sync(s);
	if (s->depth > 1) {
		char sql[80];

		/* Only this level's work; the enclosing step decides. */
		s->depth--;
		snprintf(sql, sizeof(sql), "ROLLBACK TO airlock_%d; RELEASE "
		    "airlock_%d", s->depth, s->depth);
		if (sqlite3_exec(s->db, sql, NULL, NULL, NULL) == SQLITE_OK)
			return;
	}
	s->depth = 0;
	if (!sqlite3_get_autocommit(s->db))
		(void)sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
}

/* One transaction per version, so a failed step leaves the last good one. */
static int
store_migrate(struct store *s, err_t *err)
{
	char sql[64];
	int v, r;

	if ((r = store_query_int(s, "PRAGMA user_version", &v, err)) != 0)
		return r;
	if (v > STORE_LATEST)
		return err_set(err, ERR_INVALID, "%s has schema version %d, "
		    "newer than version %d that this Airlock knows; use the "
		    "Airlock release that wrote it", s->path, v, STORE_LATEST);
	if (v < 0)
		return err_set(err, ERR_INVALID, "%s has an invalid schema "
		    "version %d", s->path, v);
	while (v < STORE_LATEST) {
		if ((r = store_begin(s, err)) != 0)
			return r;
		/* Another process may have migrated while we waited. */
		if ((r = store_query_int(s, "PRAGMA user_version", &v,
		    err)) != 0)
			goto fail;
		if (v >= STORE_LATEST) {
			store_rollback(s);
			break;
		}
		if ((r = store_exec(s, store_migrations[v], err)) != 0) {
			err_prefix(err, "migration to schema version %d", v + 1);
			goto fail;
		}
		/* PRAGMA takes no parameters; the value is our own integer. */
		snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", v + 1);
		if ((r = store_exec(s, sql, err)) != 0)
			goto fail;
		if ((r = store_commit(s, err)) != 0)
			return r;
		v++;
	}
	s->version = v;
	return 0;
fail:
	store_rollback(s);
	return r;
}

static int
store_configure(struct store *s, err_t *err)
{
	char mode[32];
	int on, r;

	sqlite3_extended_result_codes(s->db, 1);
	/*
	 * The daemon's two connections share one write lock. The worker's
	 * longest transaction (a 500,000-line batch recorded at intake, a
	 * large revocation applied) takes seconds; a console step waiting
	 * for it must not fail, since a step and its audit record are
	 * written together and nothing may be lost.
	 */
	if (sqlite3_busy_timeout(s->db, STORE_BUSY_MS) != SQLITE_OK)
		return store_sqlerr(s, ERR_IO, "busy timeout", err);
	/*
	 * Defensive mode stops SQL from corrupting the file on purpose
	 * (writable_schema and the like); untrusted schema code never runs.
	 */
	(void)sqlite3_db_config(s->db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
	(void)sqlite3_db_config(s->db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, NULL);
	if ((r = store_query_text(s, "PRAGMA journal_mode = WAL", mode,
	    sizeof(mode), err)) != 0)
		return r;
	if (strcmp(mode, "wal") != 0)
		return err_set(err, ERR_IO, "%s: SQLite refused write-ahead "
		    "logging (journal mode is '%s'); the store must be on a "
		    "local file system", s->path, mode);
	if ((r = store_exec(s, "PRAGMA synchronous = FULL;"
	    "PRAGMA foreign_keys = ON;"
	    "PRAGMA secure_delete = ON;", err)) != 0)
		return r;
	if ((r = store_query_int(s, "PRAGMA foreign_keys", &on, err)) != 0)
		return r;
	if (on != 1)
		return err_set(err, ERR_INTERNAL, "%s: SQLite did not enable "
		    "foreign keys", s->path);
	return 0;
}

int
store_open(const char *path, int create, struct store **out, err_t *err)
{
	struct store *s;
	struct stat sb;
	int rc, r;

	*out = NULL;
	if (path == NULL || *path == '\0')
		return err_set(err, ERR_INVALID, "no store path given");
	if (create) {
		/*
		 * Create the file ourselves so that it is 0600 whatever the
		 * umask; SQLite gives its -wal and -shm files the same mode.
		 */
		int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW |
		    O_CLOEXEC, 0600);

		if (fd == -1 && errno != EEXIST)
			return err_set(err, errno == EACCES ? ERR_PERM : ERR_IO,
			    "cannot create store %s: %s", path,
			    strerror(errno));
		if (fd != -1) {
			if (fchmod(fd, 0600) == -1) {
				r = err_set(err, ERR_IO, "cannot set mode 0600 on "
				    "%s: %s", path, strerror(errno));
				close(fd);
				return r;
			}
			close(fd);
		}
	}
	if (lstat(path, &sb) == -1)
		return err_set(err, errno == ENOENT ? ERR_NOTFOUND : ERR_IO,
		    "store %s: %s%s", path, strerror(errno),
		    errno == ENOENT ? "; run \"airlock init\" first" : "");
	if (!S_ISREG(sb.st_mode))
		return err_set(err, ERR_INVALID, "store %s is not a regular "
		    "file", path);
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return err_set(err, ERR_NOMEM, "out of memory");
	if ((s->path = strdup(path)) == NULL) {
		free(s);
		return err_set(err, ERR_NOMEM, "out of memory");
	}
	rc = sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_NOFOLLOW | SQLITE_OPEN_FULLMUTEX, NULL);
	if (rc != SQLITE_OK) {
		r = err_set(err, ERR_IO, "cannot open store %s: %s", path,
		    s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
		store_close(s);
		return r;
	}
	if ((r = store_configure(s, err)) != 0 ||
	    (r = store_migrate(s, err)) != 0) {
		store_close(s);
		return r;
	}
	*out = s;
	return 0;
}

void
store_close(struct store *s)
{
	if (s == NULL)
		return;
	if (s->db != NULL) {
		size_t i;

		store_rollback(s);
		for (i = 0; i < STORE_CACHED_MAX; i++)
			sqlite3_finalize(s->cached[i]);
		(void)sqlite3_close_v2(s->db);
	}
	free(s->path);
	free(s);
}

int
store_version(struct store *s)
{
	return s->version;
}

int
store_latest_version(void)
{
	return STORE_LATEST;
}

const char *
store_migration(int version)
{
	if (version < 1 || version > STORE_LATEST)
		return NULL;
	return store_migrations[version - 1];
}

sqlite3 *
store_db(struct store *s)
{
	return s->db;
}

const char *
store_path(struct store *s)
{
	return s->path;
}

int
store_integrity_check(struct store *s, err_t *err)
{
	sqlite3_stmt *st = NULL;
	char first[512];
	int rc, r;

	if ((r = store_query_text(s, "PRAGMA integrity_check", first,
	    sizeof(first), err)) != 0)
		return r;
	if (strcmp(first, "ok") != 0)
		return err_set(err, ERR_INVALID, "%s is damaged: %s", s->path,
		    first);
	if (sqlite3_prepare_v2(s->db, "PRAGMA foreign_key_check", -1, &st,
	    NULL) != SQLITE_OK)
		return store_sqlerr(s, ERR_IO, "foreign_key_check", err);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		const unsigned char *table = sqlite3_column_text(st, 0);

		r = err_set(err, ERR_INVALID, "%s is damaged: table %s row %lld "
		    "refers to a missing row", s->path,
		    table ? (const char *)table : "?",
		    (long long)sqlite3_column_int64(st, 1));
	} else if (rc != SQLITE_DONE) {
		r = store_sqlerr(s, ERR_IO, "foreign_key_check", err);
	}
	sqlite3_finalize(st);
	return r;
}

/* --- checks ------------------------------------------------------------- */

/* Checks v against a NULL-terminated list, for a clear message early. */
static int
store_check_choice(const char *field, const char *v,
    const char *const *choices, err_t *err)
{
	char list[128];

	if (store_choice(v, choices, list, sizeof(list)))
		return 0;
	return err_set(err, ERR_INVALID, "%s '%s' is not one of: %s", field,
	    v ? v : "(none)", list);
}

/* --- CAs ---------------------------------------------------------------- */

static const char *const store_ca_purposes[] = {
	"root", "devices", "people", "intermediate", NULL
};

#define STORE_CA_COLUMNS "id, name, parent_id, key_uri, cert_der, subject, " \
	"ski, sha256, not_before, not_after, is_root, purpose, created"

int
store_ca_add(struct store *s, const struct store_ca *ca, int64_t *id_out,
    err_t *err)
{
	sqlite3_stmt *st;
	int rc = SQLITE_OK, r;
	char what[256];

	if ((r = store_check_choice("CA purpose", ca->purpose,
	    store_ca_purposes, err)) != 0)
		return r;
	if ((r = store_prepare(s, "INSERT INTO ca (name, parent_id, key_uri, "
	    "cert_der, subject, ski, sha256, not_before, not_after, is_root, "
	    "purpose, created) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
	    &st, err)) != 0)
		return r;
	store_bind_text(st, 1, ca->name, &rc);
	store_bind_id(st, 2, ca->parent_id, &rc);
	store_bind_text(st, 3, ca->key_uri, &rc);
	store_bind_blob(st, 4, ca->cert_der, ca->cert_der_len, &rc);
	store_bind_text(st, 5, ca->subject, &rc);
	store_bind_text(st, 6, ca->ski, &rc);
	store_bind_text(st, 7, ca->sha256, &rc);
	store_bind_int(st, 8, ca->not_before, &rc);
	store_bind_int(st, 9, ca->not_after, &rc);
	store_bind_int(st, 10, ca->is_root ? 1 : 0, &rc);
	store_bind_text(st, 11, ca->purpose, &rc);
	store_bind_int(st, 12, ca->created, &rc);
	snprintf(what, sizeof(what), "CA '%s'", ca->name ? ca->name : "");
	return store_insert(s, st, rc, what, id_out, err);
}

/* Total bytes a column needs when copied out (text gets a terminator). */
static size_t
store_col_size(sqlite3_stmt *st, int i)
{
	if (sqlite3_column_type(st, i) == SQLITE_BLOB)
		return (size_t)sqlite3_column_bytes(st, i);
	return (size_t)sqlite3_column_bytes(st, i) + 1;
}

/* Copies column i into *pos within a block sized by store_col_size. */
static const char *
store_col_copy(sqlite3_stmt *st, int i, unsigned char **pos, size_t *len)
{
	const void *v;
	size_t n;
	unsigned char *dst = *pos;

	if (sqlite3_column_type(st, i) == SQLITE_BLOB) {
		v = sqlite3_column_blob(st, i);
		n = (size_t)sqlite3_column_bytes(st, i);
		if (n > 0)
			memcpy(dst, v, n);
		if (len != NULL)
			*len = n;
		*pos += n;
		return (const char *)dst;
	}
	v = sqlite3_column_text(st, i);
	n = (size_t)sqlite3_column_bytes(st, i);
	if (v != NULL && n > 0)
		memcpy(dst, v, n);
	dst[n] = '\0';
	*pos += n + 1;
	return (const char *)dst;
}

/* Fills ca from a row of STORE_CA_COLUMNS, pointing into SQLite memory. */
static int
store_ca_row(sqlite3_stmt *st, struct store_ca *ca)
{
	memset(ca, 0, sizeof(*ca));
	ca->id = sqlite3_column_int64(st, 0);
	ca->name = (const char *)sqlite3_column_text(st, 1);
	ca->parent_id = sqlite3_column_int64(st, 2);
	ca->key_uri = (const char *)sqlite3_column_text(st, 3);
	ca->cert_der = sqlite3_column_blob(st, 4);
	ca->cert_der_len = (size_t)sqlite3_column_bytes(st, 4);
	ca->subject = (const char *)sqlite3_column_text(st, 5);
	ca->ski = (const char *)sqlite3_column_text(st, 6);
	ca->sha256 = (const char *)sqlite3_column_text(st, 7);
	ca->not_before = sqlite3_column_int64(st, 8);
	ca->not_after = sqlite3_column_int64(st, 9);
	ca->is_root = sqlite3_column_int(st, 10) != 0;
	ca->purpose = (const char *)sqlite3_column_text(st, 11);
	ca->created = sqlite3_column_int64(st, 12);
	/* NOT NULL columns come back NULL only when SQLite ran out of memory. */
	if (ca->name == NULL || ca->key_uri == NULL || ca->cert_der == NULL ||
	    ca->subject == NULL || ca->ski == NULL || ca->sha256 == NULL ||
	    ca->purpose == NULL)
		return ERR_NOMEM;
	return 0;
}

int
store_ca_find(struct store *s, const char *name, struct store_ca *out,
    err_t *err)
{
	static const int text_cols[] = { 1, 3, 5, 6, 7, 11 };
	sqlite3_stmt *st;
	unsigned char *mem, *pos;
	size_t total = 0, i;
	int rc = SQLITE_OK, r;

	memset(out, 0, sizeof(*out));
	if ((r = store_prepare(s, "SELECT " STORE_CA_COLUMNS " FROM ca "
	    "WHERE name = ?", &st, err)) != 0)
		return r;
	store_bind_text(st, 1, name, &rc);
	if (rc != SQLITE_OK) {
		sqlite3_finalize(st);
		return err_set(err, ERR_NOMEM, "out of memory");
	}
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		sqlite3_finalize(st);
		return err_set(err, ERR_NOTFOUND, "%s: no CA named '%s'",
		    s->path, name);
	}
	if (rc != SQLITE_ROW) {
		r = store_sqlerr(s, ERR_IO, "find CA", err);
		sqlite3_finalize(st);
		return r;
	}
	/* Convert every column first: later conversions move the pointers. */
	if (store_ca_row(st, out) != 0) {
		sqlite3_finalize(st);
		memset(out, 0, sizeof(*out));
		return err_set(err, ERR_NOMEM, "out of memory");
	}
	for (i = 0; i < sizeof(text_cols) / sizeof(text_cols[0]); i++)
		total += store_col_size(st, text_cols[i]);
	total += store_col_size(st, 4);
	if ((mem = malloc(total ? total : 1)) == NULL) {
		sqlite3_finalize(st);
		memset(out, 0, sizeof(*out));
		return err_set(err, ERR_NOMEM, "out of memory");
	}
	pos = mem;
	out->name = store_col_copy(st, 1, &pos, NULL);
	out->key_uri = store_col_copy(st, 3, &pos, NULL);
	out->subject = store_col_copy(st, 5, &pos, NULL);
	out->ski = store_col_copy(st, 6, &pos, NULL);
	out->sha256 = store_col_copy(st, 7, &pos, NULL);
	out->purpose = store_col_copy(st, 11, &pos, NULL);
	out->cert_der = (const unsigned char *)store_col_copy(st, 4, &pos,
	    &out->cert_der_len);
	out->mem = mem;
	sqlite3_finalize(st);
	return 0;
}

void
store_ca_free(struct store_ca *ca)
{
	if (ca == NULL)
		return;
	free(ca->mem);
	memset(ca, 0, sizeof(*ca));
}

int
store_ca_list(struct store *s, store_ca_cb cb, void *ctx, err_t *err)
{
	sqlite3_stmt *st;
	struct store_ca ca;
	int rc, r;

	if ((r = store_prepare(s, "SELECT " STORE_CA_COLUMNS " FROM ca "
	    "ORDER BY id", &st, err)) != 0)
		return r;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (store_ca_row(st, &ca) != 0) {
			sqlite3_finalize(st);
			return err_set(err, ERR_NOMEM, "out of memory");
		}
		if ((r = cb(ctx, &ca)) != 0) {
			sqlite3_finalize(st);
			return r;
		}
	}
	r = rc == SQLITE_DONE ? 0 : store_sqlerr(s, ERR_IO, "list CAs", err);
	sqlite3_finalize(st);
	return r;
}

/* --- people ------------------------------------------------------------- */

static const char *const store_roles[] = {
	"officer", "operator", "auditor", NULL
};
static const char *const store_person_statuses[] = {
	"active", "revoked", "locked", NULL
};

int
store_person_add(struct store *s, const struct store_person *p,
    int64_t *id_out, err_t *err)
{
	const char *status = p->status ? p->status : "active";
	sqlite3_stmt *st;
	int rc = SQLITE_OK, r;
	char what[256];

	if ((r = store_check_choice("role", p->role, store_roles, err)) != 0 ||
	    (r = store_check_choice("person status", status,
	    store_person_statuses, err)) != 0)
		return r;
	if ((r = store_prepare(s, "INSERT INTO person (name, role, ca_id, "
	    "cert_der, sha256, serial, subject, not_before, not_after, "
	    "status, created) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
	    &st, err)) != 0)
		return r;
	store_bind_text(st, 1, p->name, &rc);
	store_bind_text(st, 2, p->role, &rc);
	store_bind_int(st, 3, p->ca_id, &rc);
	store_bind_blob(st, 4, p->cert_der, p->cert_der_len, &rc);
	store_bind_text(st, 5, p->sha256, &rc);
	store_bind_text(st, 6, p->serial, &rc);
	store_bind_text(st, 7, p->subject, &rc);
	store_bind_int(st, 8, p->not_before, &rc);
	store_bind_int(st, 9, p->not_after, &rc);
	store_bind_text(st, 10, status, &rc);
	store_bind_int(st, 11, p->created, &rc);
	snprintf(what, sizeof(what), "person '%s'", p->name ? p->name : "");
	return store_insert(s, st, rc, what, id_out, err);
}

/* Walks the people whose sha256 is `sha256`, or everyone when NULL. */
static int
store_person_walk(struct store *s, const char *sha256, store_person_cb cb,
    void *ctx, int *found, err_t *err)
{
	sqlite3_stmt *st;
	struct store_person p;
	int rc = SQLITE_OK, r;

	*found = 0;
	if ((r = store_prepare(s, "SELECT id, name, role, ca_id, cert_der, "
	    "sha256, serial, subject, not_before, not_after, status, created "
	    "FROM person WHERE ?1 IS NULL OR sha256 = ?1 ORDER BY id", &st,
	    err)) != 0)
		return r;
	store_bind_text(st, 1, sha256, &rc);
	if (rc != SQLITE_OK) {
		sqlite3_finalize(st);
		return err_set(err, ERR_NOMEM, "out of memory");
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		(*found)++;
		memset(&p, 0, sizeof(p));
		p.id = sqlite3_column_int64(st, 0);
		p.name = (const char *)sqlite3_column_text(st, 1);
		p.role = (const char *)sqlite3_column_text(st, 2);
		p.ca_id = sqlite3_column_int64(st, 3);
		p.cert_der = sqlite3_column_blob(st, 4);
		p.cert_der_len = (size_t)sqlite3_column_bytes(st, 4);
		p.sha256 = (const char *)sqlite3_column_text(st, 5);
		p.serial = (const char *)sqlite3_column_text(st, 6);
		p.subject = (const char *)sqlite3_column_text(st, 7);
		p.not_before = sqlite3_column_int64(st, 8);
		p.not_after = sqlite3_column_int64(st, 9);
		p.status = (const char *)sqlite3_column_text(st, 10);
		p.created = sqlite3_column_int64(st, 11);
		if (p.name == NULL || p.role == NULL || p.cert_der == NULL ||
		    p.sha256 == NULL || p.serial == NULL || p.subject == NULL ||
		    p.status == NULL) {
			sqlite3_finalize(st);
			return err_set(err, ERR_NOMEM, "out of memory");
		}
		if ((r = cb(ctx, &p)) != 0) {
			sqlite3_finalize(st);
			return r;
		}
	}
	r = rc == SQLITE_DONE ? 0 : store_sqlerr(s, ERR_IO, "list people", err);
	sqlite3_finalize(st);
	return r;
}

int
store_person_list(struct store *s, store_person_cb cb, void *ctx, err_t *err)
{
	int found;

	return store_person_walk(s, NULL, cb, ctx, &found, err);
}

int
store_person_find(struct store *s, const char *sha256, store_person_cb cb,
    void *ctx, err_t *err)
{
	int found = 0, r;

	if (sha256 == NULL)
		return err_set(err, ERR_INVALID, "no certificate digest");
	if ((r = store_person_walk(s, sha256, cb, ctx, &found, err)) != 0)
		return r;
	if (found == 0)
		return err_set(err, ERR_NOTFOUND, "no enrolled person holds "
		    "the certificate with SHA-256 %s", sha256);
	return 0;
}

/* --- appliance keys ------------------------------------------------------ */

static const char *const store_appkey_purposes[] = {
	"export", "audit", "transport", NULL
};

int
store_appkey_add(struct store *s, const struct store_appkey *k,
    int64_t *id_out, err_t *err)
{
	sqlite3_stmt *st;
	int rc = SQLITE_OK, r;
	char what[128];

	if ((r = store_check_choice("appliance key purpose", k->purpose,
	    store_appkey_purposes, err)) != 0)
		return r;
	if ((r = store_prepare(s, "INSERT INTO appliance_key (purpose, "
	    "key_uri, cert_der, sha256, not_after, created) "
	    "VALUES (?, ?, ?, ?, ?, ?)", &st, err)) != 0)
		return r;
	store_bind_text(st, 1, k->purpose, &rc);
	store_bind_text(st, 2, k->key_uri, &rc);
	store_bind_blob(st, 3, k->cert_der, k->cert_der_len, &rc);
	store_bind_text(st, 4, k->sha256, &rc);
	store_bind_int(st, 5, k->not_after, &rc);
	store_bind_int(st, 6, k->created, &rc);
	snprintf(what, sizeof(what), "%s appliance key", k->purpose);
	return store_insert(s, st, rc, what, id_out, err);
}

int
store_appkey_list(struct store *s, store_appkey_cb cb, void *ctx, err_t *err)
{
	sqlite3_stmt *st;
	struct store_appkey k;
	int rc, r;

	if ((r = store_prepare(s, "SELECT id, purpose, key_uri, cert_der, "
	    "sha256, not_after, created FROM appliance_key ORDER BY id", &st,
	    err)) != 0)
		return r;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		memset(&k, 0, sizeof(k));
		k.id = sqlite3_column_int64(st, 0);
		k.purpose = (const char *)sqlite3_column_text(st, 1);
		k.key_uri = (const char *)sqlite3_column_text(st, 2);
		k.cert_der = sqlite3_column_blob(st, 3);
		k.cert_der_len = (size_t)sqlite3_column_bytes(st, 3);
		k.sha256 = (const char *)sqlite3_column_text(st, 4);
		k.not_after = sqlite3_column_int64(st, 5);
		k.created = sqlite3_column_int64(st, 6);
		if (k.purpose == NULL || k.key_uri == NULL ||
		    k.cert_der == NULL || k.sha256 == NULL) {
			sqlite3_finalize(st);
			return err_set(err, ERR_NOMEM, "out of memory");
		}
		if ((r = cb(ctx, &k)) != 0) {
			sqlite3_finalize(st);
			return r;
		}
	}
	r = rc == SQLITE_DONE ? 0 : store_sqlerr(s, ERR_IO,
	    "list appliance keys", err);
	sqlite3_finalize(st);
	return r;
}

/* --- certificates -------------------------------------------------------- */

static const char *const store_cert_kinds[] = {
	"ca", "person", "appliance", "device", NULL
};
static const char *const store_cert_statuses[] = {
	"valid", "revoked", "hold", NULL
};

/* Name of CA id for messages; "#id" when it has none or on failure. */
static void
store_ca_label(struct store *s, int64_t id, char *out, size_t outsz)
{
	sqlite3_stmt *st;
	const unsigned char *name = NULL;

	snprintf(out, outsz, "#%lld", (long long)id);
	if (sqlite3_prepare_v2(s->db, "SELECT name FROM ca WHERE id = ?", -1,
	    &st, NULL) != SQLITE_OK)
		return;
	if (sqlite3_bind_int64(st, 1, id) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		name = sqlite3_column_text(st, 0);
	if (name != NULL)
		snprintf(out, outsz, "'%s'", (const char *)name);
	sqlite3_finalize(st);
}

/* 1 when the row keyed by (id, text) exists in the given query. */
static int
store_row_exists(struct store *s, const char *sql, int64_t id,
    const char *text)
{
	sqlite3_stmt *st;
	int found = 0;

	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
		return 0;
	if (sqlite3_bind_int64(st, 1, id) == SQLITE_OK &&
	    sqlite3_bind_text(st, 2, text, -1, SQLITE_STATIC) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		found = 1;
	sqlite3_finalize(st);
	return found;
}

int
store_cert_add(struct store *s, const struct store_cert *c, err_t *err)
{
	const char *status = c->status ? c->status : "valid";
	sqlite3_stmt *st;
	char label[300];
	int rc = SQLITE_OK, r;

	if ((r = store_check_choice("certificate kind", c->kind,
	    store_cert_kinds, err)) != 0 ||
	    (r = store_check_choice("certificate status", status,
	    store_cert_statuses, err)) != 0)
		return r;
	if ((r = store_prepare(s, "INSERT INTO certificate (serial, ca_id, "
	    "kind, subject, sha256, not_before, not_after, der, status, "
	    "created) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", &st, err)) != 0)
		return r;
	store_bind_text(st, 1, c->serial, &rc);
	store_bind_int(st, 2, c->ca_id, &rc);
	store_bind_text(st, 3, c->kind, &rc);
	store_bind_text(st, 4, c->subject, &rc);
	store_bind_text(st, 5, c->sha256, &rc);
	store_bind_int(st, 6, c->not_before, &rc);
	store_bind_int(st, 7, c->not_after, &rc);
	store_bind_blob(st, 8, c->der, c->der_len, &rc);
	store_bind_text(st, 9, status, &rc);
	store_bind_int(st, 10, c->created, &rc);
	snprintf(label, sizeof(label), "certificate with serial %s",
	    c->serial ? c->serial : "(none)");
	r = store_insert(s, st, rc, label, NULL, err);
	if (r != ERR_EXISTS)
		return r;
	/*
	 * Reusing a serial is the failure that matters most: say so plainly.
	 * Otherwise the same certificate (by hash) is already recorded.
	 */
	store_ca_label(s, c->ca_id, label, sizeof(label));
	if (c->serial != NULL && store_row_exists(s, "SELECT 1 FROM "
	    "certificate WHERE ca_id = ? AND serial = ?", c->ca_id, c->serial))
		return err_set(err, ERR_EXISTS, "%s: serial %s already issued "
		    "by CA %s", s->path, c->serial, label);
	return err_set(err, ERR_EXISTS, "%s: certificate %s is already "
	    "recorded", s->path, c->sha256 ? c->sha256 : "(none)");
}

/* --- ceremonies ---------------------------------------------------------- */

int
store_ceremony_add(struct store *s, const struct store_ceremony *c,
    int64_t *id_out, err_t *err)
{
	sqlite3_stmt *st;
	int rc = SQLITE_OK, r;
	char what[300];

	if ((r = store_prepare(s, "INSERT INTO ceremony (name, type, "
	    "transcript_sha256, signer_sha256, ran_at, imported_at) "
	    "VALUES (?, ?, ?, ?, ?, ?)", &st, err)) != 0)
		return r;
	store_bind_text(st, 1, c->name, &rc);
	store_bind_text(st, 2, c->type, &rc);
	store_bind_text(st, 3, c->transcript_sha256, &rc);
	store_bind_text(st, 4, c->signer_sha256, &rc);
	store_bind_int(st, 5, c->ran_at, &rc);
	store_bind_int(st, 6, c->imported_at, &rc);
	snprintf(what, sizeof(what), "ceremony '%s'", c->name ? c->name : "");
	r = store_insert(s, st, rc, what, id_out, err);
	if (r == ERR_EXISTS)
		return err_set(err, ERR_EXISTS, "%s: the transcript of "
		    "ceremony '%s' (sha256 %s) was already imported", s->path,
		    c->name ? c->name : "", c->transcript_sha256);
	return r;
}

/* --- CRLs ---------------------------------------------------------------- */

int
store_crl_add(struct store *s, const struct store_crl *c, err_t *err)
{
	sqlite3_stmt *st;
	char label[300];
	int rc = SQLITE_OK, r;

	if ((r = store_prepare(s, "INSERT INTO crl (ca_id, number, "
	    "this_update, next_update, der) VALUES (?, ?, ?, ?, ?)", &st,
	    err)) != 0)
		return r;
	store_bind_int(st, 1, c->ca_id, &rc);
	store_bind_int(st, 2, c->number, &rc);
	store_bind_int(st, 3, c->this_update, &rc);
	store_bind_int(st, 4, c->next_update, &rc);
	store_bind_blob(st, 5, c->der, c->der_len, &rc);
	snprintf(label, sizeof(label), "CRL number %lld",
	    (long long)c->number);
	r = store_insert(s, st, rc, label, NULL, err);
	if (r == ERR_EXISTS) {
		store_ca_label(s, c->ca_id, label, sizeof(label));
		return err_set(err, ERR_EXISTS, "%s: CRL number %lld already "
		    "issued by CA %s", s->path, (long long)c->number, label);
	}
	return r;
}

/* --- meta ---------------------------------------------------------------- */

int
store_meta_set(struct store *s, const char *key, const char *value,
    err_t *err)
{
	sqlite3_stmt *st;
	int rc = SQLITE_OK, r;
	char what[128];

	if ((r = store_prepare(s, "INSERT INTO meta (key, value) VALUES (?, ?) "
	    "ON CONFLICT (key) DO UPDATE SET value = excluded.value", &st,
	    err)) != 0)
		return r;
	store_bind_text(st, 1, key, &rc);
	store_bind_text(st, 2, value, &rc);
	snprintf(what, sizeof(what), "setting '%s'", key ? key : "");
	return store_insert(s, st, rc, what, NULL, err);
}

int
store_meta_get(struct store *s, const char *key, char **out, err_t *err)
{
	sqlite3_stmt *st;
	const unsigned char *v;
	int rc = SQLITE_OK, r;

	*out = NULL;
	if ((r = store_prepare(s, "SELECT value FROM meta WHERE key = ?", &st,
	    err)) != 0)
		return r;
	store_bind_text(st, 1, key, &rc);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		sqlite3_finalize(st);
		return err_set(err, ERR_NOTFOUND, "%s: setting '%s' is not set",
		    s->path, key);
	}
	if (rc != SQLITE_ROW) {
		r = store_sqlerr(s, ERR_IO, "read setting", err);
		sqlite3_finalize(st);
		return r;
	}
	v = sqlite3_column_text(st, 0);
	if (v == NULL || (*out = strdup((const char *)v)) == NULL) {
		sqlite3_finalize(st);
		return err_set(err, ERR_NOMEM, "out of memory");
	}
	sqlite3_finalize(st);
	return 0;
}
