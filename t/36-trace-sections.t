# TRACE where the module's handler is set by <Directory> or <If> (the
# wcim_trace_sections vhost), not <Location>: it gets the handler's answer
# to any method but POST, as under <Location> (t/12-bad-input.t,
# t/14-routing.t), not httpd's echo of the request. Elsewhere httpd still
# echoes a TRACE.
use strict;
use warnings;

use FindBin ();
use lib "$FindBin::Bin/lib";

use Test::More;
use HTTP::Request ();
use Apache::Test ();
use WCIM::Request qw(im check_answer);

my $VHOST = 'wcim_trace_sections';

sub trace {
    my ($path, $vhost) = @_;
    my $req = HTTP::Request->new(TRACE => WCIM::Request::url($path, $vhost));
    return WCIM::Request::ua()->request($req);
}

# the sections do set the handler for an ordinary request
my $res = WCIM::Request::post('get_group_chat_list', WCIM::Request::envelope(
              data => WCIM::Request::data_for(38)),
          vhost => $VHOST, path => '/get_group_chat_list');
check_answer($res, 'POST under <Directory>: the API answers', code => 2000);

$res = trace('/get_token', $VHOST);
check_answer($res, 'TRACE under <Directory>: 405 + 3100, not the echo',
             status => 405, code => 3100, allow => 'POST');

$res = trace('/no_such_api', $VHOST);
check_answer($res, 'TRACE to no API under <Directory>: 404 + 3101',
             status => 404, code => 3101);

$res = trace('/rc/post', $VHOST);
is($res->code, 405, 'TRACE under <If>: the callback\'s 405')
    or diag($res->as_string);
is($res->content, "POST only\n", 'TRACE under <If>: its own answer');
is($res->header('Allow'), 'POST', 'TRACE under <If>: Allow: POST');

# not the module's: httpd's own TRACE answer, left as it was
$res = trace('/not-im', 'default');
is($res->code, 200, 'TRACE elsewhere: httpd\'s echo');
like($res->header('Content-Type') // '', qr{^message/http},
     'TRACE elsewhere: message/http');

done_testing();
