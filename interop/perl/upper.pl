#!/usr/bin/env perl
# upper.pl - the uppercase server (SPEC.md) the way a Perl developer writes it: IO::Socket and one
# IO::Select loop over the TCP listener, its connections and the UDP socket, all on one port.
#
# usage: perl upper.pl [--naive] [PORT]   (default $PORT or 8082; 0 picks a free port; binds $HOST or
# 127.0.0.1). The first lines printed are "listening on tcp|udp ADDR:PORT".
#
# The data stays bytes and tr/a-z/A-Z/ changes only the bytes a-z (SPEC X1). uc() would be right only
# as long as nothing decodes: under "use v5.12" or later (feature 'unicode_strings'), or once the string
# is decoded, it uppercases e-acute and sharp s too. --naive swaps in the line newcomers write, a decode
# with uc(): encode_utf8(uc(decode_utf8($data))); bytes that are not UTF-8 (or a character split between
# two reads) become U+FFFD. ci/expected-failures/perl-naive.txt lists what conform fails it for.
#
# One loop rather than perlipc's process per connection: 2000 clients at once (T9) would be 2000 forks
# and exits, about 20 ms each on a loaded or sandboxed host, more than conform's budget for the case.
use strict;
use warnings;
use Encode qw(decode_utf8 encode_utf8);
use Errno qw(EAGAIN EINTR);
use IO::Select;
use IO::Socket::INET;
use Socket qw(SHUT_WR);

use constant CHUNK => 65536;    # read at most this much, and stop reading while this much is owed (T8)

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

my $listener = IO::Socket::INET->new(LocalAddr => $host, LocalPort => $port, Proto => 'tcp',
    Listen => 1024, ReuseAddr => 1, Blocking => 0) or die "upper.pl: tcp $host:$port: $@\n";
$port = $listener->sockport;
my $udp = IO::Socket::INET->new(LocalAddr => $host, LocalPort => $port, Proto => 'udp')
    or die "upper.pl: udp $host:$port: $@\n";
print "listening on tcp $host:$port\nlistening on udp $host:$port\n";

my $readers = IO::Select->new($listener, $udp);
my $writers = IO::Select->new;
my %owed;    # a connection's answer not yet written
my %eof;     # the client sent FIN: our FIN follows the last owed byte (T4)

sub drop {
    my ($c) = @_;
    $readers->remove($c);
    $writers->remove($c);
    delete $owed{$c};
    delete $eof{$c};
    close $c;
}

# Writes what is owed; once it is all written, reads again (or, after the client's FIN, sends ours).
sub flush_owed {
    my ($c) = @_;
    my $w = syswrite($c, $owed{$c});
    if (!defined $w) {
        return if $! == EAGAIN || $! == EINTR;
        return drop($c);    # a reset: that connection only (T6)
    }
    substr($owed{$c}, 0, $w, '');
    return $writers->add($c) if length $owed{$c};
    $writers->remove($c);
    if ($eof{$c}) {
        shutdown($c, SHUT_WR);
        return drop($c);
    }
    $readers->add($c);
}

while (1) {
    my ($r, $w) = IO::Select->select($readers, $writers, undef);
    for my $c (@{ $w || [] }) {
        flush_owed($c) if exists $owed{$c};
    }
    for my $c (@{ $r || [] }) {
        if ($c == $listener) {
            while (my $client = $listener->accept) {
                $client->blocking(0);
                $owed{$client} = '';
                $readers->add($client);
            }
        } elsif ($c == $udp) {
            my $from = $udp->recv(my $data, 65535) // next;
            $udp->send($transform->($data), 0, $from);    # a vanished sender is no error of ours
        } elsif (exists $owed{$c}) {
            my $n = sysread($c, my $data, CHUNK);
            if (!defined $n) {
                next if $! == EAGAIN || $! == EINTR;
                drop($c);
                next;
            }
            $eof{$c} = 1 if $n == 0;
            $owed{$c} .= $transform->($data);
            $readers->remove($c);    # read again once this is written
            flush_owed($c);
        }
    }
}
