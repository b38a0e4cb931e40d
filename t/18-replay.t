# WeclubsIMReplayWindow: a signed request's id is accepted once per caller
# within the window (wcim_replay vhost); elsewhere ids are not checked.
use strict;
use warnings;
use utf8;

use FindBin ();
use lib "$FindBin::Bin/lib";

use Test::More;
use Apache::Test ();
use WCIM::Request qw(im check_answer);

my $id = 'replay-' . $$ . '-' . time;

check_answer(im('get_group_chat_list', user => 38, id => $id, vhost => 'wcim_replay'),
             'first use of an id: 2000', code => 2000);
check_answer(im('get_group_chat_list', user => 38, id => $id, vhost => 'wcim_replay'),
             'the same request again: 3003', code => 3003);
check_answer(im('get_token', user => 38, id => $id, vhost => 'wcim_replay'),
             'the same id on the other endpoint: 3003', code => 3003);
check_answer(im('get_group_chat_list', user => 38, id => "$id-2", vhost => 'wcim_replay'),
             'a new id: 2000', code => 2000);
check_answer(im('get_group_chat_list', user => 38, id => $id, caller => 'ios_test',
                vhost => 'wcim_replay'),
             'ids are per caller: the same id from another caller passes',
             code => 2000);
check_answer(im('get_group_chat_list', user => 38, id => "$id-3", sign => 'f' x 32,
                vhost => 'wcim_replay'),
             'a badly signed request: 3003 ...', code => 3003);
check_answer(im('get_group_chat_list', user => 38, id => "$id-3", vhost => 'wcim_replay'),
             '... does not use up its id', code => 2000);
check_answer(im('get_group_chat_list', user => 38, id => '', vhost => 'wcim_replay'),
             'an empty id: 3001', code => 3001);
check_answer(im('get_group_chat_list', user => 38, id => $id),
             'WeclubsIMReplayWindow off (main server): the id is not checked',
             code => 2000);

done_testing();
