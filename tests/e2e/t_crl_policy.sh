#!/bin/sh
# The CRL policy against the profiles, at airlockd's start: a profile whose
# certificates name another CRL distribution point than the issuing
# distribution point (or the published place) of their CA's CRLs stops the
# daemon, naming the profile, the CA and both URIs; the same URI starts it;
# a profile without distribution point under CRLs that carry one is only
# warned about. Checked with airlockd --check, which loads what a start does.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/daemon.sh"
need openssl
ceremony_day
A=http://crl.example.com/device-ca.crl
B=http://crl.example.com/elsewhere.crl
mkdir -p "$W/media"
cat >"$W/airlockd.yaml" <<YAML
airlockd: 1
state: $W/state
media: $W/media
policies: $W/policies
socket: $W/console.sock
console_users: [$(id -u)]
hsm:
  module: $MODULE
  token: airlock-ca
  sessions: 2
require_mount: false
YAML
check() { "$AIRLOCK_BUILD/bin/airlockd" --config "$W/airlockd.yaml" --check; }

# crl_policy IDP: device-ca's CRLs at $A, as issuing distribution point
# when IDP is true.
crl_policy() {
	cat >"$W/policies/crl/crl.yaml" <<YAML
default:
  validity_days: 7
  warning: 2d
cas:
  device-ca:
    validity_days: 30
    warning: 7d
    distribution_point: $A
    issuing_distribution_point: $1
YAML
}
# tls_cdp URI: the TLS device profile's certificates name URI.
tls_cdp() {
	sed "s|^extensions:\$|extensions:\\n  crl_distribution_points: [$1]|" \
	    "$AIRLOCK_SRC/policies/tls-device.yaml" >"$W/policies/tls-device.yaml"
	grep -q "crl_distribution_points: \[$1\]" "$W/policies/tls-device.yaml" ||
	    fail "the profile was not changed"
}

step "the shipped profiles and CRL policy agree"
expect_ok check

step "certificates name B, the CRLs' issuing distribution point is A: no start"
crl_policy true
tls_cdp "$B"
expect_fail "profile tls-device: .*$B.* CA device-ca carry the issuing distribution point $A" check
grep -q "policies/tls-device.yaml" "$W/last.out" || fail "the profile's file is not named"

step "the CRL policy publishes at A, no issuing distribution point: still no start"
crl_policy false
expect_fail "profile tls-device: .*$B.*publishes the CRLs of CA device-ca at $A" check

step "the same URI on both sides starts; profiles without one are warned about"
crl_policy true
tls_cdp "$A"
expect_ok check
grep -q "crl-policy.*profile docsis-3.1-cm: its certificates name no CRL distribution point.*outside the scope of those CRLs" \
    "$W/last.out" || { cat "$W/last.out"; fail "no warning for a profile without CRL distribution point"; }
grep -q "profile tls-device" "$W/last.out" && fail "tls-device warned about"
echo ok
