# Before any request: httpd started without calling RongCloud (post_config
# runs twice at start-up; an upstream call there hangs starts when RongCloud
# is down), and the stand-in the other tests rely on is up.
use strict;
use warnings;

use FindBin ();
use lib "$FindBin::Bin/lib";

use Test::More;
use Apache::Test ();
use WCIM::StandIn ();

my $calls = eval { WCIM::StandIn::calls() };
ok($calls, 'the RongCloud stand-in answers its control API') or diag($@);
is(scalar @{ $calls || [] }, 0, 'httpd made no RongCloud call while starting')
    or diag(explain($calls));
like(WCIM::StandIn::port(), qr/^\d+\z/, 'WCIM_RC_PORT is exported to the tests');

done_testing();
