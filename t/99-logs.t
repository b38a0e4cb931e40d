# After all other tests: the logs hold no secret, the module warned at start
# that signature checks are off on one vhost, and no httpd child crashed.
use strict;
use warnings;
use utf8;

use FindBin ();
use lib "$FindBin::Bin/lib";

use Test::More;
use Apache::Test ();
use WCIM::Sign ();

my $logs = Apache::Test::vars('t_logs');
my %log;
for my $name (qw(error_log access_log)) {
    open my $fh, '<:raw', "$logs/$name" or die "$logs/$name: $!";
    local $/;
    $log{$name} = <$fh> // '';
}
cmp_ok(length $log{error_log}, '>', 0, 'error_log is not empty');

for my $name (sort keys %log) {
    for my $secret (WCIM::Sign::SECRET, 'testappsecret', WCIM::Sign::FILE_SECRET) {
        my $n = () = $log{$name} =~ /\Q$secret\E/g;
        is($n, 0, "$name: the secret $secret appears nowhere");
    }
}

my @warn = grep { /\[weclubs_im:warn\]/ && /sign/i } split /\n/, $log{error_log};
ok(@warn >= 1, 'a weclubs_im warning about signature checks being off (wcim_nosign)')
    or diag('weclubs_im lines: ', join "\n", grep { /weclubs_im/ } split /\n/, $log{error_log});

# the module's version at start-up (as mod_md says its own), read from
# configure.ac so that a release bump needs no change here
{
    open my $fh, '<', "$FindBin::Bin/../configure.ac" or die "configure.ac: $!";
    my ($version) = join('', <$fh>) =~ /AC_INIT\(\[mod_weclubs_im\],\s*\[([^\]]+)\]/;
    ok(defined $version, "configure.ac names the version");
    like($log{error_log}, qr/\[weclubs_im:notice\].* WCIM0009: mod_weclubs_im \Q$version\E \(APR /,
         "start-up says mod_weclubs_im $version and the libraries it runs with");
}

my @crash = grep { /exit signal|seg(?:mentation)? fault|AH00052|AH00060/i }
            split /\n/, $log{error_log};
is(scalar @crash, 0, 'no httpd process crashed') or diag(join "\n", @crash);

my @grave = grep { /\[weclubs_im:(?:crit|alert|emerg)\]/ } split /\n/, $log{error_log};
is(scalar @grave, 0, 'no weclubs_im message above error level') or diag(join "\n", @grave);

done_testing();
