#!/usr/bin/env bash
# Generate a Tau certificate (32 random bytes as 64 hex characters) and print a Kubernetes
# Secret holding it, ready for `kubectl apply -f -`.
#
#   hack/k8s/gen-cert.sh [-n NAMESPACE] [-s SECRET] [-k KEY] [-o FILE] [-c CERT_HEX] [-p OLD_HEX]
#
#   -n NAMESPACE  namespace of the Secret (default: none, i.e. kubectl's current one)
#   -s SECRET     Secret name (default: tau-certificate, what deploy/ mounts; for the chart
#                 use its certificate.existingSecret or the chart's <release>-certificate)
#   -k KEY        key in the Secret (default: certificate; the chart's
#                 certificate.existingSecretKey)
#   -o FILE       also write the certificate (hex) to FILE, mode 0600, for clients
#                 (`tau --cert-file FILE ...`)
#   -c CERT_HEX   use this certificate instead of generating one
#   -p OLD_HEX    a rotation's first step: keep accepting OLD_HEX, the Secret's first line,
#                 and add the new certificate as its second line (-o gets the new one only)
#
# Examples:
#   hack/k8s/gen-cert.sh -n tau -o tau.cert | kubectl apply -f -          # deploy/
#   # rotation without a failed client (charts/tau/README.md, "Rotating the certificate"):
#   hack/k8s/gen-cert.sh -n tau -p "$(head -n1 tau.cert)" -o new.cert | kubectl apply -f -
#   # ...clients moved to new.cert, the old line unused: drop it
#   hack/k8s/gen-cert.sh -n tau -c "$(cat new.cert)" | kubectl apply -f -
#
# The server re-reads the mounted file when the Secret changes: rotation needs no restart.
set -euo pipefail

namespace="" secret="tau-certificate" key="certificate" out="" cert="" old=""
usage() { sed -n '2,25p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
while getopts "n:s:k:o:c:p:h" opt; do
	case "$opt" in
	n) namespace="$OPTARG" ;;
	s) secret="$OPTARG" ;;
	k) key="$OPTARG" ;;
	o) out="$OPTARG" ;;
	c) cert="$OPTARG" ;;
	p) old="$OPTARG" ;;
	*) usage ;;
	esac
done
shift $((OPTIND - 1))
[ $# -eq 0 ] || usage

if [ -z "$cert" ]; then
	# 32 bytes from the kernel's CSPRNG, as 64 lower-case hex characters.
	cert="$(od -An -vtx1 -N32 /dev/urandom | tr -d ' \n')"
fi
cert="$(printf '%s' "$cert" | tr 'A-F' 'a-f')"
if ! printf '%s' "$cert" | grep -Eq '^[0-9a-f]{64}$'; then
	echo "gen-cert.sh: the certificate must be 64 hex characters" >&2
	exit 2
fi

content="$cert"
if [ -n "$old" ]; then
	old="$(printf '%s' "$old" | tr 'A-F' 'a-f')"
	if ! printf '%s' "$old" | grep -Eq '^[0-9a-f]{64}$'; then
		echo "gen-cert.sh: -p: the old certificate must be 64 hex characters" >&2
		exit 2
	fi
	if [ "$old" = "$cert" ]; then
		echo "gen-cert.sh: -p: the old certificate equals the new one" >&2
		exit 2
	fi
	# The old one stays line 1 and the new one is line 2: the server accepts both and counts
	# CONNECTs by line (tau_auth_connects_total{certificate="1"|"2"}).
	content="$old
$cert"
fi

if [ -n "$out" ]; then
	(umask 077 && printf '%s\n' "$cert" >"$out")
fi

ns_line=""
[ -z "$namespace" ] || ns_line="
  namespace: ${namespace}"
cat <<YAML
apiVersion: v1
kind: Secret
metadata:
  name: ${secret}${ns_line}
  labels:
    app.kubernetes.io/name: tau
type: Opaque
data:
  ${key}: $(printf '%s' "$content" | base64 -w0)
YAML
