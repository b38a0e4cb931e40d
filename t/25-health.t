# The health check (issue 15): 200 with {"status":"ok",...} when this node
# can serve, 503 with the reason when its database cannot be reached, 405
# to other methods than GET; no RongCloud call. (The cache's part: redis
# killed under two nodes, t/cluster/two-nodes.t.)
use strict;
use warnings;

use FindBin ();
use lib "$FindBin::Bin/lib";

use Test::More;
use Apache::Test ();
use LWP::UserAgent ();
use WCIM::Request ();
use WCIM::JSON ();
use WCIM::StandIn ();

my $ua = LWP::UserAgent->new(timeout => 10);
sub health {
    my ($vhost, $method) = @_;
    my $res = $ua->request(HTTP::Request->new(($method || 'GET') =>
                                              WCIM::Request::url('/im-health', $vhost)));
    my $a = eval { WCIM::JSON::decode($res->content) } || {};
    return ($res, $a);
}

WCIM::StandIn::reset();
my ($res, $a) = health();
is($res->code, 200, 'a node that can serve: 200');
is_deeply([@$a{qw(status database cache)}], ['ok', 'ok', 'ok'],
          'status, database and cache ok') or diag($res->content);
like($res->header('Content-Type') // '', qr{^application/json}, 'JSON');
is($res->header('Cache-Control'), 'no-store', 'not cached by anyone');

($res, $a) = health('wcim_nodb');
is($res->code, 503, 'a database that cannot be opened: 503');
is($a->{status}, 'unavailable', 'status unavailable');
isnt($a->{database} // 'ok', 'ok', "the database's reason: " . ($a->{database} // ''));
is($a->{cache}, 'ok', 'the cache is fine');

($res) = health(undef, 'POST');
is($res->code, 405, 'POST: 405');

is(scalar @{ WCIM::StandIn::calls() }, 0, 'RongCloud was never called');

done_testing();
