#!/usr/bin/env perl
# upper.pl - the uppercase server (SPEC.md) the way a Perl developer writes it (perlipc): IO::Socket,
# a process forked per TCP connection, and one more for the UDP socket, all on one port.
#
# usage: perl upper.pl [--naive] [PORT]   (default $PORT or 8082; 0 picks a free port; binds $HOST or
# 127.0.0.1). The first lines printed are "listening on tcp|udp ADDR:PORT".
#
# The data stays bytes and tr/a-z/A-Z/ changes only the bytes a-z (SPEC X1). uc() would be right only
# as long as nothing decodes: under "use v5.12" or later (feature 'unicode_strings'), or once the string
# is decoded, it uppercases e-acute and sharp s too. --naive swaps in the line newcomers write, a decode
# with uc(): encode_utf8(uc(decode_utf8($data))); bytes that are not UTF-8 (or a character split between
# two reads) become U+FFFD. ci/expected-failures/perl-naive.txt lists what conform fails it for.
use strict;
use warnings;
use Encode qw(decode_utf8 encode_utf8);
use IO::Socket::INET;
use Socket qw(SHUT_WR);

sub upper {
    my ($data) = @_;
    $data =~ tr/a-z/A-Z/;
    return $data;
}

# NAIVE (--naive): what newcomers write; wrong for every byte that is not ASCII.
sub naive_upper {
    my ($data) = @_;
    return encode_utf8(uc(decode_utf8($data)));
}

# One connection, in its own process: syswrite blocks while the client does not read, so reading stops
# too (T8); after the client's FIN our side is shut down (T4); a reset ends this process only (T6).
sub serve {
    my ($client, $transform) = @_;
    while (1) {
        my $n = sysread($client, my $data, 65536);
        return if !defined $n;    # a reset
        if ($n == 0) {
            shutdown($client, SHUT_WR);
            return;
        }
        my $out = $transform->($data);
        while (length $out) {
            my $w = syswrite($client, $out) // return;
            substr($out, 0, $w, '');
        }
    }
}

sub serve_udp {
    my ($socket, $transform) = @_;
    while (1) {
        my $from = $socket->recv(my $data, 65535) // next;
        $socket->send($transform->($data), 0, $from);    # a vanished sender is no error of ours
    }
}

if (@ARGV && $ARGV[0] =~ /^(-h|--help)$/) {
    print "usage: perl upper.pl [--naive] [PORT]   (default \$PORT or 8082; 0: a free port)\n";
    exit 0;
}
my $transform = \&upper;
if (@ARGV && $ARGV[0] eq '--naive') {
    $transform = \&naive_upper;
    shift @ARGV;
}
my $port = @ARGV ? $ARGV[0] : ($ENV{PORT} // 8082);
$port =~ /^\d+$/ or die "upper.pl: port '$port' is not a number\n";
my $host = $ENV{HOST} // '127.0.0.1';
$| = 1;
$SIG{PIPE} = 'IGNORE';    # a write to a reset connection fails with EPIPE instead of killing
$SIG{CHLD} = 'IGNORE';    # finished connections are reaped by the kernel, never left as zombies

my $listener = IO::Socket::INET->new(LocalAddr => $host, LocalPort => $port, Proto => 'tcp',
    Listen => 1024, ReuseAddr => 1) or die "upper.pl: tcp $host:$port: $@\n";
$port = $listener->sockport;
my $udp = IO::Socket::INET->new(LocalAddr => $host, LocalPort => $port, Proto => 'udp')
    or die "upper.pl: udp $host:$port: $@\n";
print "listening on tcp $host:$port\nlistening on udp $host:$port\n";

if (fork() == 0) {
    close $listener;
    serve_udp($udp, $transform);
    exit 0;
}
close $udp;
while (1) {
    my $client = $listener->accept or next;    # out of processes or descriptors for a moment
    my $pid = fork();
    if (defined $pid && $pid == 0) {
        close $listener;
        serve($client, $transform);
        exit 0;
    }
    close $client;
}
