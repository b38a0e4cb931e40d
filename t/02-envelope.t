# The request checks of protocol.md section 5, in order, on both endpoints:
# each case breaks one check (or two, and must get the earlier one's code).
# All requests are for user 38 with the seed's token on the main server, so
# a request that passes every check is answered 2000.
use strict;
use warnings;
use utf8;

use FindBin ();
use lib "$FindBin::Bin/lib";

use Test::More;
use Encode qw(encode_utf8);
use Apache::Test ();
use WCIM::JSON qw(obj arr jint raw);
use WCIM::Request qw(envelope post check_answer SEED_TOKEN SEED_LIST);
use WCIM::Sign qw(sign);

my $good = [user_id => '38', token => SEED_TOKEN];
my $body = envelope();
(my $dup_data = $body) =~ s/\}\z/,"data":{"user_id":"38","token":"x"}}/;

# [name, expected code, request body bytes]
my @cases = (
    # 3001: the body is not a JSON object with object client and object data
    ['not JSON',                        3001, 'hello'],
    ['empty body',                      3001, ''],
    ['JSON array',                      3001, '[]'],
    ['JSON string',                     3001, '"{}"'],
    ['JSON null',                       3001, 'null'],
    ['empty object',                    3001, '{}'],
    ['truncated JSON',                  3001, substr($body, 0, -1)],
    ['trailing garbage',                3001, $body . 'x'],
    ['two JSON objects',                3001, $body . $body],
    ['client missing',                  3001, envelope(no_client => 1)],
    ['data missing',                    3001, envelope(no_data => 1)],
    ['client is a string',              3001, envelope(client => 'chrome_test')],
    ['client is null',                  3001, envelope(client => undef)],
    ['client is an array',              3001, envelope(client => arr(obj(caller => 'chrome_test')))],
    ['data is an array',                3001, envelope_data_raw('["38","' . SEED_TOKEN . '"]')],
    ['data is a string',                3001, envelope_data_raw('"user_id=38"')],
    ['data is null',                    3001, envelope_data_raw('null')],
    ['duplicate top-level key data',    3001, $dup_data],
    ['duplicate key in data',           3001, envelope(data => [@$good, user_id => '38'])],
    ['duplicate key in client',         3001, envelope(client => obj(caller => 'chrome_test', caller => 'chrome_test'))],
    ['data member is a real number',    3001, envelope(data => [@$good, x => raw('1.5')])],
    ['data member is 1e3',              3001, envelope(data => [@$good, x => raw('1e3')])],
    ['data member is 38.0 (user_id)',   3001, envelope(data => [user_id => raw('38.0'), token => SEED_TOKEN])],
    ['data member is an object',        3001, envelope(data => [@$good, x => obj(a => '1')])],
    ['data member is an array',         3001, envelope(data => [@$good, x => arr('1')])],
    ['data member is an empty array',   3001, envelope(data => [@$good, x => arr()])],
    ['invalid JSON and a bad caller',   3001, substr(envelope(caller => 'evil'), 0, -2)],
    ['duplicate key and a bad sign',    3001, envelope(data => [@$good, user_id => '38'], sign => 'bad')],

    # 3004: caller missing or not on the list
    ['caller not on the list',          3004, envelope(caller => 'evil_app')],
    ['caller in other case',            3004, envelope(caller => 'Chrome_test')],
    ['caller missing',                  3004, envelope(no_caller => 1)],
    ['caller is a number',              3004, envelope(caller => jint(123))],
    ['caller is null',                  3004, envelope(caller => undef)],
    ['caller is empty',                 3004, envelope(caller => '')],
    ['bad caller and bad sign',         3004, envelope(caller => 'evil_app', sign => 'bad')],
    ['bad caller, no user_id',          3004, envelope(caller => 'evil_app', data => [token => SEED_TOKEN])],

    # 3003: sign missing or wrong
    ['sign wrong',                      3003, envelope(sign => '0' x 32)],
    ['sign wrong (40 digits)',          3003, envelope(sign => '0' x 40)],
    ['sign missing',                    3003, envelope(no_sign => 1)],
    ['sign empty',                      3003, envelope(sign => '')],
    ['sign is a number',                3003, envelope(sign => jint(123))],
    ['sign is null',                    3003, envelope(sign => undef)],
    ['sign truncated to 31',            3003, envelope(sign => substr(sign($good), 0, 31))],
    ['sign with one digit more',        3003, envelope(sign => sign($good) . '0')],
    ['bad sign and no user_id',         3003, envelope(data => [token => SEED_TOKEN], sign => sign($good))],
    ['bad sign and no token',           3003, envelope(data => [user_id => '38'], sign => sign($good))],
    ['bad sign and user_id not a number', 3003, envelope(data => [user_id => 'abc', token => SEED_TOKEN], sign => sign($good))],

    # 3005: user_id missing
    ['user_id missing',                 3005, envelope(data => [token => SEED_TOKEN])],
    ['user_id and token missing',       3005, envelope(data => [])],
    ['user_id missing, token empty',    3005, envelope(data => [token => ''])],
    ['user_id missing, other members',  3005, envelope(data => [uid => '38', token => SEED_TOKEN])],

    # 3006: token missing or empty
    ['token missing',                   3006, envelope(data => [user_id => '38'])],
    ['token empty',                     3006, envelope(data => [user_id => '38', token => ''])],
    ['token missing, user_id bad',      3006, envelope(data => [user_id => 'abc'])],
    ['token empty, user_id negative',   3006, envelope(data => [user_id => jint(-1), token => ''])],

    # 3001: user_id present but not a non-negative decimal integer
    ['user_id letters',                 3001, envelope(data => [user_id => 'abc', token => SEED_TOKEN])],
    ['user_id leading zero',            3001, envelope(data => [user_id => '038', token => SEED_TOKEN])],
    ['user_id negative string',         3001, envelope(data => [user_id => '-38', token => SEED_TOKEN])],
    ['user_id negative integer',        3001, envelope(data => [user_id => jint(-38), token => SEED_TOKEN])],
    ['user_id with a plus sign',        3001, envelope(data => [user_id => '+38', token => SEED_TOKEN])],
    ['user_id with a space',            3001, envelope(data => [user_id => '38 ', token => SEED_TOKEN])],
    ['user_id digits then letters',     3001, envelope(data => [user_id => '38abc', token => SEED_TOKEN])],
    ['user_id decimal string',          3001, envelope(data => [user_id => '3.8', token => SEED_TOKEN])],
    ['user_id is true',                 3001, envelope(data => [user_id => JSON::PP::true(), token => SEED_TOKEN])],

    # 3010: the token check
    ['user_id 0 (no token row)',        3010, envelope(data => [user_id => '0', token => SEED_TOKEN])],
    ['user_id without a token row',     3010, envelope(data => [user_id => '99999', token => SEED_TOKEN])],
    ['token is garbage',                3010, envelope(data => [user_id => '38', token => 'garbage'])],
);

for my $endpoint (qw(get_group_chat_list get_token)) {
    for my $c (@cases) {
        my ($name, $code, $bytes) = @$c;
        check_answer(post($endpoint, $bytes), "$endpoint: $name", code => $code);
    }
}

# everything right: 2000 (get_token is covered by t/07-get-token.t)
check_answer(post('get_group_chat_list', envelope()), 'all checks pass',
             code => 2000, data => SEED_LIST);
check_answer(post('get_group_chat_list', envelope(data => [user_id => jint(38), token => SEED_TOKEN])),
             'user_id as JSON integer', code => 2000, data => SEED_LIST);
check_answer(post('get_group_chat_list',
                  envelope(data => [@$good, flag => JSON::PP::true(), off => JSON::PP::false(),
                                    none => undef, n => jint(5), neg => jint(-7)])),
             'extra true/false/null/integer members are allowed and signed as text',
             code => 2000, data => SEED_LIST);

# the database cannot be opened: 5000 once the checks that need no database
# have passed
for my $endpoint (qw(get_group_chat_list get_token)) {
    check_answer(post($endpoint, envelope(), vhost => 'wcim_nodb'),
                 "$endpoint: database unavailable", code => 5000);
    check_answer(post($endpoint, envelope(caller => 'evil_app'), vhost => 'wcim_nodb'),
                 "$endpoint: database unavailable, bad caller", code => 3004);
    check_answer(post($endpoint, envelope(data => [user_id => '38']), vhost => 'wcim_nodb'),
                 "$endpoint: database unavailable, no token", code => 3006);
}

done_testing();

# an envelope whose data member is the given JSON text
sub envelope_data_raw {
    my $json = shift;
    return envelope(data => [], no_data => 1) =~ s/\}\z/,"data":$json}/r;
}
