#!/usr/bin/perl
# launch_transform.pl — the only source rewrite of the CUDA emulation (make test-emu): turns a
# kernels/cuda/*.cu file into C++ that g++ compiles against tests/cuda_emu/cuda_emu.h.
#
#   kernel<T><<<grid, block, smem, stream>>>(args)
#       -> kernel<T> | ::zn_emu::cfg("kernel", grid, block, smem, stream)(args)
#   extern __shared__ __align__(16) unsigned char smem_raw[];
#       -> unsigned char *const smem_raw = reinterpret_cast<unsigned char *>(::zn_emu::tls.dyn_smem);
#
# Only the <<< and >>> tokens are replaced, so a launch may span lines, sit inside a macro
# argument or follow any kernel expression; line numbers are kept and a #line directive points
# diagnostics at the original file. Fails (nonzero exit, nothing written) when a launch's
# configuration does not look like one (a ';', '{' or '}' between <<< and >>>), when <<< or >>>
# or `extern __shared__` survive the rewrite.
#
# usage: launch_transform.pl in.cu out.cpp
use strict;
use warnings;

die "usage: $0 in.cu out.cpp\n" unless @ARGV == 2;
my ($in, $out) = @ARGV;
open(my $fh, '<', $in) or die "$in: $!\n";
my $src = do { local $/; <$fh> };
close $fh;

# The name of the kernel expression ending at offset $end: skip balanced <...>, take the identifier.
sub kernel_name {
    my ($text, $end) = @_;
    my $i = $end - 1;
    $i-- while $i >= 0 && substr($text, $i, 1) =~ /\s/;
    if ($i >= 0 && substr($text, $i, 1) eq '>') {
        my $depth = 0;
        for (; $i >= 0; $i--) {
            my $ch = substr($text, $i, 1);
            $depth++ if $ch eq '>';
            $depth-- if $ch eq '<';
            last if $depth == 0;
        }
        $i--;
        $i-- while $i >= 0 && substr($text, $i, 1) =~ /\s/;
    }
    my $j = $i;
    $j-- while $j >= 0 && substr($text, $j, 1) =~ /\w/;
    my $name = substr($text, $j + 1, $i - $j);
    return $name =~ /^[A-Za-z_]\w*$/ ? $name : "kernel";
}

my $result = '';
my $pos = 0;
while ((my $at = index($src, '<<<', $pos)) >= 0) {
    my $close = index($src, '>>>', $at + 3);
    die "$in: '<<<' without a matching '>>>'\n" if $close < 0;
    my $config = substr($src, $at + 3, $close - $at - 3);
    if ($config =~ /[;{}]/ || $config =~ /<<</) {
        my $line = 1 + (substr($src, 0, $at) =~ tr/\n//);
        die "$in:$line: the text between '<<<' and '>>>' is not a launch configuration\n";
    }
    my $name = kernel_name($src, $at);
    $result .= substr($src, $pos, $at - $pos) . " | ::zn_emu::cfg(\"$name\", " . $config . ")";
    $pos = $close + 3;
}
$result .= substr($src, $pos);

$result =~ s{extern\s+__shared__\s+(?:__align__\s*\(\s*\d+\s*\)\s+)?([A-Za-z_][\w\s:<>,]*?)\s+(\w+)\s*\[\s*\]\s*;}
             {$1 *const $2 = reinterpret_cast<$1 *>(::zn_emu::tls.dyn_smem);}g;

die "$in: '<<<' or '>>>' left after the rewrite\n" if $result =~ /<<<|>>>/;
die "$in: an 'extern __shared__' declaration the rewrite does not understand\n" if $result =~ /extern\s+__shared__/;

(my $shown = $in) =~ s/"/\\"/g;
open(my $oh, '>', "$out.tmp") or die "$out.tmp: $!\n";
print $oh "#line 1 \"$shown\"\n", $result;
close $oh or die "$out.tmp: $!\n";
rename("$out.tmp", $out) or die "$out: $!\n";
