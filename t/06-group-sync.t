# The group sync to RongCloud after get_group_chat_list (protocol.md section
# 7, rongcloud.md group/sync): its form body, that it happens only when the
# user's set changed since the last successful sync, that its failure never
# changes the answer, and WeclubsIMGroupSync Off. The sync may follow the
# answer, so the stand-in is polled for up to 3 s.
use strict;
use warnings;
use utf8;

use FindBin ();
use lib "$FindBin::Bin/lib";

use Test::More;
use Time::HiRes ();
use LWP::UserAgent ();
use HTTP::Request ();
use Apache::Test ();
use WCIM::JSON ();
use WCIM::Request qw(im check_answer list_data);
use WCIM::StandIn ();
use WCIM::DB ();

my $list = 'get_group_chat_list';
my $SYNC = WCIM::StandIn::SYNC;
my $QUIET = 1.5;    # how long to watch for a sync that must not come

my %club = (
    100 => [100, '篮球社', 'http://img.example.com/club/100.png'],
    101 => [101, '读书会', undef],
    107 => [107, 'A&B=C+D 100% 社', 'http://img.example.com/club/107.png'],
);

WCIM::StandIn::reset();

# Checks one recorded sync call against the expected group set.
sub sync_is {
    my ($call, $uid, $groups, $name) = @_;
    subtest $name => sub {
        ok($call, 'a sync call was made') or return;
        is($call->{method}, 'POST', 'POST');
        ok($call->{auth_ok}, 'RongCloud signature headers accepted');
        is_deeply($call->{errors}, [], 'no form-encoding or auth errors')
            or diag(explain($call->{errors}), "raw body: $call->{raw_body}");
        is($call->{headers}{'app-key'} // $call->{headers}{'rc-app-key'}, 'testappkey', 'App-Key');
        like($call->{headers}{'content-type'} // '', qr{^application/x-www-form-urlencoded\b},
             'form-encoded');
        my %seen;
        my @dups = grep { $seen{$_->[0]}++ } @{ $call->{form} };
        is(scalar @dups, 0, 'no field twice');
        my %form = map { @$_ } @{ $call->{form} };
        is_deeply(\%form, { userId => "im_user_id_$uid", %$groups },
                  'userId and exactly the groups, names decoded exactly')
            or diag("raw body: $call->{raw_body}");
    };
}

sub one_sync {
    my ($uid, $since) = @_;
    WCIM::StandIn::wait_calls($SYNC, "im_user_id_$uid", $since, 1, 3);
    Time::HiRes::sleep(0.3);    # let the module take in the stand-in's answer
    my $all = WCIM::StandIn::calls_for($SYNC, "im_user_id_$uid", $since);
    is(scalar @$all, 1, "user $uid: exactly one sync call") or diag(explain($all));
    return $all->[0];
}

sub no_sync {
    my ($uid, $since, $name) = @_;
    Time::HiRes::sleep($QUIET);
    my $calls = WCIM::StandIn::calls_for($SYNC, "im_user_id_$uid", $since);
    is(scalar @$calls, 0, $name) or diag(explain($calls));
}

# user 120: two clubs, one name needs percent-encoding (& = + % space)
{
    my $since = WCIM::StandIn::last_seq();
    check_answer(im($list, user => 120), 'user 120: list', code => 2000,
                 data => list_data($club{100}, $club{107}));
    my $call = one_sync(120, $since);
    sync_is($call, 120, { 'group[im_club_id_100]' => '篮球社',
                          'group[im_club_id_107]' => 'A&B=C+D 100% 社' },
            'user 120: sync body');

    $since = WCIM::StandIn::last_seq();
    check_answer(im($list, user => 120), 'user 120 again', code => 2000,
                 data => list_data($club{100}, $club{107}));
    no_sync(120, $since, 'user 120 again: set unchanged, no second sync');
}

# a club's name reaches group/sync by RongCloud's rule for names: up to 64
# characters whatever the script (rongcloud_standin.py check_fields), so a
# 30-character Chinese name goes whole and a 70-character one is cut to 64
# (192 bytes), never inside a character. The list itself shows the name
# as the database has it. Club 107's name is put back at the end.
{
    for my $c ([30, 30], [70, 64]) {
        my ($chars, $sent) = @$c;
        my $long = '社' x $chars;
        WCIM::DB::sql("UPDATE t_club SET name = '$long' WHERE club_id = 107");
        my $since = WCIM::StandIn::last_seq();
        check_answer(im($list, user => 120), "user 120: club 107 named by $chars characters",
                     code => 2000,
                     data => list_data($club{100}, [107, $long, $club{107}[2]]));
        my $call = one_sync(120, $since);
        sync_is($call, 120, { 'group[im_club_id_100]' => '篮球社',
                              'group[im_club_id_107]' => '社' x $sent },
                "user 120: a $chars-character club name synced as $sent");
        is(($call || {})->{status}, 200, "user 120: RongCloud accepted the $sent characters");
    }
    WCIM::DB::sql("UPDATE t_club SET name = 'A&B=C+D 100% 社' WHERE club_id = 107");
    my $since = WCIM::StandIn::last_seq();
    check_answer(im($list, user => 120), 'user 120: club 107 named back', code => 2000,
                 data => list_data($club{100}, $club{107}));
    one_sync(120, $since);
}

# user 121: no club; never synced before, so an empty set is synced once
{
    my $since = WCIM::StandIn::last_seq();
    check_answer(im($list, user => 121), 'user 121: list', code => 2000, data => list_data());
    sync_is(one_sync(121, $since), 121, {}, 'user 121: sync with no group');
    $since = WCIM::StandIn::last_seq();
    im($list, user => 121);
    no_sync(121, $since, 'user 121 again: no second sync');
}

# user 124: synced with club 100, then quits: the next list syncs the empty set
{
    my $since = WCIM::StandIn::last_seq();
    check_answer(im($list, user => 124), 'user 124: list', code => 2000,
                 data => list_data($club{100}));
    sync_is(one_sync(124, $since), 124, { 'group[im_club_id_100]' => '篮球社' },
            'user 124: first sync');
    WCIM::DB::sql('UPDATE t_student_club_graduate_relation SET status = 0'
                  . ' WHERE stu_clu_gra_rel_id = 134');
    $since = WCIM::StandIn::last_seq();
    check_answer(im($list, user => 124), 'user 124 after quitting: null', code => 2000,
                 data => list_data());
    sync_is(one_sync(124, $since), 124, {}, 'user 124: set changed, empty set synced');
}

# user 123: the sync fails (503); the answer is unchanged and the next list
# retries, because the set was never synced successfully
{
    WCIM::StandIn::mode('e503', path => $SYNC);
    my $since = WCIM::StandIn::last_seq();
    check_answer(im($list, user => 123), 'user 123, sync failing: answer still 2000',
                 code => 2000, data => list_data($club{101}));
    my $failed = WCIM::StandIn::wait_calls($SYNC, 'im_user_id_123', $since, 1, 3);
    ok(@$failed >= 1 && $failed->[0]{status} == 503, 'user 123: the sync was tried and got 503');
    Time::HiRes::sleep(0.3);
    WCIM::StandIn::mode('ok');

    $since = WCIM::StandIn::last_seq();
    check_answer(im($list, user => 123), 'user 123 again', code => 2000,
                 data => list_data($club{101}));
    sync_is(one_sync(123, $since), 123, { 'group[im_club_id_101]' => '读书会' },
            'user 123: sync retried after the failure');
    $since = WCIM::StandIn::last_seq();
    im($list, user => 123);
    no_sync(123, $since, 'user 123 third time: synced already, no call');
}

# a sync that hangs must not hold the answer back for long, nor change it
{
    WCIM::StandIn::mode('hang', path => $SYNC, delay => 5);
    my $t0 = Time::HiRes::time();
    my $since = WCIM::StandIn::last_seq();
    check_answer(im($list, user => 125), 'user 125, sync hanging: answer still 2000',
                 code => 2000, data => list_data());
    my $elapsed = Time::HiRes::time() - $t0;
    cmp_ok($elapsed, '<', 2 + 2, 'answered within the RongCloud timeout + 2 s');
    my $calls = WCIM::StandIn::wait_calls($SYNC, 'im_user_id_125', $since, 1, 3);
    ok(@$calls >= 1, 'user 125: the sync was tried');
    WCIM::StandIn::mode('ok');
}

# a slow sync holds back neither its answer nor the next request on the
# same connection: syncs run on threads of their own, not the request's
{
    WCIM::StandIn::mode('slow', path => $SYNC, delay => 1.5);
    # user 124 joins club 100 again: a sync is due
    WCIM::DB::sql('UPDATE t_student_club_graduate_relation SET status = 1'
                  . ' WHERE stu_clu_gra_rel_id = 134');
    my $ka = LWP::UserAgent->new(timeout => 30, keep_alive => 1, agent => 'wcim-tests');
    my $request = sub {
        my ($uid) = @_;
        return HTTP::Request->new(POST => WCIM::Request::url("/im/$list"),
            ['Content-Type' => 'application/json'],
            WCIM::Request::envelope(data => WCIM::Request::data_for($uid)));
    };
    my $since = WCIM::StandIn::last_seq();
    my $t0 = Time::HiRes::time();
    my $first = $ka->request($request->(124));
    my $second = $ka->request($request->(120));
    my $elapsed = Time::HiRes::time() - $t0;
    check_answer($first, 'user 124 back in club 100, sync slow: answer 2000', code => 2000,
                 data => list_data($club{100}));
    check_answer($second, 'the next request on the connection: 2000', code => 2000,
                 data => list_data($club{100}, $club{107}));
    is($second->header('Client-Response-Num'), 2,
       'both went over one keep-alive connection (the second was its 2nd answer)');
    cmp_ok($elapsed, '<', 1.2,
           sprintf('both answered before the 1.5 s sync could end (%.3f s)', $elapsed));
    sync_is(one_sync(124, $since), 124, { 'group[im_club_id_100]' => '篮球社' },
            'user 124: the slow sync was made, in the background');
    Time::HiRes::sleep(1.5);     # it ends, and is remembered
    WCIM::StandIn::mode('ok');
    $since = WCIM::StandIn::last_seq();
    im($list, user => 124);
    no_sync(124, $since, 'user 124 again: the background sync was remembered, no second one');
}

# GroupSync Off: no call at all
{
    my $since = WCIM::StandIn::last_seq();
    check_answer(im($list, user => 122, vhost => 'wcim_nosync'), 'user 122 on GroupSync Off',
                 code => 2000, data => list_data($club{100}));
    no_sync(122, $since, 'GroupSync Off: no sync call');
}

# a graceful restart while a sync is under way: the old child finishes it
# (or drops what is queued) and exits cleanly; the new one serves at once
{
    my $error_log = Apache::Test::vars('t_logs') . '/error_log';
    my $mark = -s $error_log || 0;
    WCIM::StandIn::mode('slow', path => $SYNC, delay => 1.5);
    WCIM::DB::sql('UPDATE t_student_club_graduate_relation SET status = 0'
                  . ' WHERE stu_clu_gra_rel_id = 134');
    my $since = WCIM::StandIn::last_seq();
    check_answer(im($list, user => 124), 'user 124 quits again: list', code => 2000,
                 data => list_data());
    WCIM::StandIn::wait_calls($SYNC, 'im_user_id_124', $since, 1, 3);
    my $pidfile = Apache::Test::vars('t_logs') . '/httpd.pid';
    open my $pf, '<', $pidfile or BAIL_OUT("$pidfile: $!");
    chomp(my $pid = <$pf>);
    close $pf;
    ok(kill(USR1 => $pid), 'graceful restart with a sync under way');
    my ($code, $deadline) = ('none', Time::HiRes::time() + 30);
    while (Time::HiRes::time() < $deadline) {
        Time::HiRes::sleep(0.3);
        my $a = eval { WCIM::JSON::decode(im($list, user => 120)->content) };
        $code = $a && ref $a eq 'HASH' ? $a->{result_code} : 'none';
        last if $code eq '2000';
    }
    is($code, 2000, 'after the graceful restart: answers 2000');
    Time::HiRes::sleep(2);   # the old child's sync ends, the child exits
    WCIM::StandIn::mode('ok');
    open my $fh, '<:raw', $error_log or die "$error_log: $!";
    seek $fh, $mark, 0;
    my @bad = grep { /exit signal|Segmentation|AH00052|AH00060|weclubs_im:(?:crit|alert|emerg)/ } <$fh>;
    close $fh;
    is(scalar @bad, 0, 'no child crashed or hung at the restart') or diag(@bad);
}

# nothing but group/sync reached the stand-in from get_group_chat_list
is(scalar @{ WCIM::StandIn::calls(path => WCIM::StandIn::GET_TOKEN) }, 0,
   'no getToken call from get_group_chat_list');

done_testing();
