#!/bin/sh
# The hostile bundle corpus (tests/hostile): every case of
# tests/hostile/expected.txt is dropped into inbox/ of one running airlockd
# at once; each must end in quarantine/ with a .reason naming its stage and
# matching its pattern, and with a bundle-rejected (or bundle-replayed)
# audit record carrying its digest. A symbolic link, a FIFO and a file
# whose name holds a newline are dropped beside them. Afterwards the daemon
# still serves, a valid bundle is accepted, and the batches accepted before
# the corpus are unchanged.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/daemon.sh"
need openssl; need python3; need zip; need sqlite3
python3 -c 'import cryptography' 2>/dev/null || skip "skipped: python3-cryptography is not installed"
HOSTILE=$AIRLOCK_SRC/tests/hostile
ceremony_day

# enrol NAME NOT_AFTER ID...: an enrol ceremony script $E/rsa/NAME.yaml
# making operators ID (key files, "ID Example") valid until NOT_AFTER.
enrol() {
	n=$1; na=$2; shift 2
	sed -e "s/^name: enrol-extra-2026/name: $n/" -e "s/2028-11-01T00:00:00Z/$na/" \
	    -e '/^people:/,$d' "$E/rsa/07-enrol-extra.yaml" >"$E/rsa/$n.yaml"
	echo "people:" >>"$E/rsa/$n.yaml"
	for p in "$@"; do
		printf '%s passphrase 77\n' "$p" >"$W/pins/$p"; chmod 600 "$W/pins/$p"
		openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
		    -aes-256-cbc -pass file:"$W/pins/$p" -out "$E/people/$p.key.pem" 2>/dev/null
		printf '  - id: %s\n    name: %s Example\n    role: operator\n    key_file: ../people/%s.key.pem\n' \
		    "$p" "$p" "$p" >>"$E/rsa/$n.yaml"
	done
}

step "signers: henry (revoked), ivan (locked), kate (expired), judy (never enrolled)"
enrol hostile-people 2028-11-01T00:00:00Z henry ivan
enrol hostile-expired 2026-11-02T00:00:00Z kate
expect_ok "$AIRLOCK" ceremony run --pin "airlock-ca=file:$W/pins/airlock-ca" \
    --pin "henry=file:$W/pins/henry" --pin "ivan=file:$W/pins/ivan" \
    --pin "kate=file:$W/pins/kate" --out "$O" \
    "$E/rsa/hostile-people.yaml" "$E/rsa/hostile-expired.yaml"
rm -rf "$W/state"
expect_ok "$AIRLOCK" init --state "$W/state" --ceremonies "$O"
# judy's certificate chains to the people CA, but the appliance never imported it.
enrol hostile-late 2028-11-01T00:00:00Z judy
mkdir -p "$W/late"; cp "$O/people-ca.pem" "$W/late/"
expect_ok "$AIRLOCK" ceremony run --pin "airlock-ca=file:$W/pins/airlock-ca" \
    --pin "judy=file:$W/pins/judy" --out "$W/late" "$E/rsa/hostile-late.yaml"
sqlite3 "$W/state/airlock.db" "UPDATE person SET status = 'revoked' WHERE name = 'henry Example';
    UPDATE person SET status = 'locked' WHERE name = 'ivan Example'"

# Two more profiles: one Frank may not use, one that allows 5 lines a batch.
sed -e 's/^name: docsis-3.1-cm/name: hostile-no-frank/' \
    "$AIRLOCK_SRC/policies/docsis-3.1-cm.yaml" >"$W/policies/hostile-no-frank.yaml"
sed -e 's/^name: docsis-3.1-cm/name: hostile-small/' -e 's/^max_batch: .*/max_batch: 5/' \
    "$W/policies/docsis-3.1-cm.yaml" >"$W/policies/hostile-small.yaml"

recipient
start_daemon
expect_ok "$AIRLOCK" activate --pin "file:$W/pins/airlock-ca"
C=$W/corpus
step "the corpus"
python3 "$HOSTILE/make-corpus.py" --work "$W" --out "$C" || fail "make-corpus.py"

step "before the corpus: batch 1 issued, batch 2 pending approval"
submit "$C/base-issued.cms" base-issued.cms 1
expect_ok approve_token 1 alice
expect_ok approve_token 1 bob
issued 1 60
submit "$C/base-pending.cms" base-pending.cms 2
DB=$W/state/airlock.db
# What must not change: the batches, their lines, the certificates.
snapshot() {
	sqlite3 "$DB" "SELECT id, state, line_count, updated FROM batch WHERE id <= 2 ORDER BY id;
	    SELECT batch_id, count(*), group_concat(status) FROM line WHERE batch_id <= 2
	    GROUP BY batch_id; SELECT count(*), group_concat(status) FROM certificate"
}
snapshot >"$W/before.snap"

step "every case into inbox/ at once, with a link, a FIFO, a newline in a name and a forged .reason"
I=$W/media/inbox; Q=$W/media/quarantine
grep -v '^#' "$HOSTILE/expected.txt" | grep -v '^$' >"$W/table"
# drop SRC NAME: SRC appears whole as inbox/NAME (a dot name is never judged).
drop() {
	cp --sparse=always "$1" "$I/.drop.tmp" && mv "$I/.drop.tmp" "$I/$2"
}
cut -f1 "$W/table" | while read -r n; do drop "$C/$n" "$n"; done
ln -s "$C/base-after.cms" "$I/link-to-valid.cms"
mkfifo "$I/pipe.cms"
NL='evil
stage: accepted.cms'
drop "$C/not-cms" "$NL"
printf 'file: forged\nstage: none\nreason: nothing wrong\n' >"$W/forged"
drop "$W/forged" forged.reason
# The longest name a file system allows: quarantine/ keeps 200 bytes of it.
LONG=$(printf 'L%.0s' $(seq 250))
drop "$C/not-cms" "$LONG"

n=$(wc -l <"$W/table")
wait_for 90 sh -c "[ \$(ls '$Q' | grep -c '\.reason\$') -ge $((n + 3)) ]"

# matches FILE PATTERNS: each of the " && "-separated grep -E patterns
# matches some line of FILE.
matches() {
	rest=$2
	while :; do
		p=${rest%% && *}
		grep -Eq -- "$p" "$1" || return 1
		[ "$p" != "$rest" ] || return 0
		rest=${rest#* && }
	done
}

step "each case: quarantined, its reason, its audit record"
LOG=$W/state/audit.log
bad=0
while IFS="$(printf '\t')" read -r name stage pat what; do
	r=$Q/$name.reason; st=ok
	if [ ! -f "$Q/$name" ] || [ -e "$I/$name" ] || [ ! -f "$r" ]; then
		st="FAIL not quarantined"
	elif ! grep -qx "stage: $stage" "$r"; then
		st="FAIL stage $(grep '^stage:' "$r")"
	elif ! matches "$r" "$pat"; then
		st="FAIL reason"
	else
		sha=$(grep '^sha256:' "$r" | cut -d' ' -f2)
		[ "$sha" = - ] || [ "$sha" = "$(sha256sum <"$Q/$name" | cut -d' ' -f1)" ] ||
		    st="FAIL digest"
		o="file=$name bundle=$sha"; [ "$sha" != - ] || o="file=$name"
		awk -F'\t' -v o="$o" '($7 == "bundle-rejected" || $7 == "bundle-replayed") &&
		    $9 == o { f = 1 } END { exit !f }' "$LOG" || st="FAIL no audit record"
	fi
	printf '%-34s %-8s %-4s %-48s %s\n' "$name" "$stage" "$st" "$what" \
	    "$(sed -n 's/^reason: //p' "$r" 2>/dev/null | cut -c1-100)"
	case $st in ok) ;; *) bad=$((bad + 1)); sed 's/^/    | /' "$r" 2>/dev/null || true;; esac
done <"$W/table"
[ "$bad" = 0 ] || fail "$bad of $n cases were not refused as expected"

step "a link and a FIFO in inbox/ are left alone and reported; names cannot forge a reason"
{ [ -L "$I/link-to-valid.cms" ] && [ -p "$I/pipe.cms" ]; } || fail "link or FIFO touched"
{ [ ! -e "$Q/link-to-valid.cms.reason" ] && [ ! -e "$Q/pipe.cms.reason" ]; } || fail "link or FIFO judged"
for f in link-to-valid.cms pipe.cms; do
	awk -F'\t' -v o="file=$f" '$7 == "inbox-ignored" && $9 == o { f = 1 } END { exit !f }' "$LOG" ||
	    fail "no inbox-ignored record for $f"
done
[ "$(grep -c '^stage:' "$Q/$NL.reason")" = 1 ] || { cat "$Q/$NL.reason"; fail "a name forged a line"; }
grep -q '^file: evil\\x0astage: accepted.cms$' "$Q/$NL.reason" || { cat "$Q/$NL.reason"; fail "name not escaped"; }

# A file named like a .reason never keeps its name: every *.reason is the appliance's.
[ ! -e "$Q/forged.reason" ] || fail "quarantine/forged.reason holds the dropped file's text"
set -- "$Q"/forged.reason.[0-9]*.reason
[ -f "$1" ] || fail "forged.reason not quarantined"

L200=$(printf '%.200s' "$LONG")
{ [ -f "$Q/$L200" ] && grep -qx "file: $LONG" "$Q/$L200.reason"; } || fail "a 250-byte name not quarantined as its first 200 bytes"

step "the daemon still serves; a valid bundle is accepted; nothing accepted before changed"
"$AIRLOCK" status | grep -q "active since" || fail "daemon not serving"
submit "$C/base-after.cms" base-after.cms 3
snapshot | diff "$W/before.snap" - || fail "the batches accepted before the corpus changed"
stop_daemon
echo "hostile corpus: $n cases refused as expected"
