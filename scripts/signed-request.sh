#!/bin/sh
# Sends one signed weclubs API request with curl and prints the answer:
#   scripts/signed-request.sh URL USER_ID TOKEN [CALLER] [SECRET]
# The signature is the md5-sha1 form of protocol.md section 3:
#   md5( UPPER( sha1( secret + "token" + TOKEN + "user_id" + USER_ID + secret ) ) )
set -eu
URL=$1 USER_ID=$2 TOKEN=$3
CALLER=${4:-chrome_test}
SECRET=${5:-8924d49e61e1dc9e1618d3bae21ea493}
SHA1=$(printf '%s' "${SECRET}token${TOKEN}user_id${USER_ID}${SECRET}" \
       | sha1sum | cut -d' ' -f1 | tr 'a-f' 'A-F')
SIGN=$(printf '%s' "$SHA1" | md5sum | cut -d' ' -f1)
curl -sS -X POST -H 'Content-Type: application/json' --data-binary @- "$URL" <<JSON
{"id":"demo-$(date +%s)","client":{"caller":"$CALLER","version":"v2.1","date":"$(date +%s)000","ex":{}},"encrypt":"md5","sign":"$SIGN","data":{"user_id":"$USER_ID","token":"$TOKEN"}}
JSON
echo
