# Every directive in the source is documented in docs/directives.md (with
# its syntax, default and context) and in the README's table, and nothing
# documented there is missing from the source.
use strict;
use warnings;

use FindBin ();
use Test::More;

my $top = "$FindBin::Bin/..";
sub slurp { local $/; open my $fh, '<', $_[0] or die "$_[0]: $!"; scalar <$fh> }

my $src = slurp("$top/mod_weclubs_im_config.c");
my @directives = $src =~ /AP_INIT_\w+\(\s*"(\w+)"/g;
cmp_ok(scalar @directives, '>=', 19, 'directives found in the source');

my $doc = slurp("$top/docs/directives.md");
my $readme = slurp("$top/README.md");
my %sections;
while ($doc =~ /^## (\w+)\n(.*?)(?=^## |\z)/msg) {
    $sections{$1} = $2;
}
for my $d (@directives) {
    my $s = $sections{$d};
    ok(defined $s, "$d has a section in docs/directives.md") or next;
    like($s, qr/^\| Syntax \| `\Q$d\E[ `]/m, "$d: syntax");
    like($s, qr/^\| Default \| /m, "$d: default");
    like($s, qr/^\| Context \| /m, "$d: context");
    like($s, qr/```apache\n.*\Q$d\E/s, "$d: an example");
    like($readme, qr/\| `\Q$d\E[ `]/, "$d: in the README's directive table");
}
my %in_source = map { $_ => 1 } @directives;
for my $d (grep { /^WeclubsIM/ } keys %sections) {
    ok($in_source{$d}, "documented $d exists in the source");
}

done_testing();
