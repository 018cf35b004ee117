#!/usr/bin/perl
# SPDX-License-Identifier: MIT
#
# A cluster-wide mutex in Perl (IPC::SysV and the semget/semop/semctl
# built-ins), for tests/integration/test_langs.py.
#
#     sem_demo.pl ROLE KEY
#
# ROLE: hold | acquire | try, as in sem_demo.py: "hold" takes the mutex
# (semaphore 0, -1 with SEM_UNDO), prints "held", waits for a line on stdin,
# gives it back and prints "released"; "acquire" blocks until the mutex is
# free, prints "acquired", gives it back, prints "released"; "try" prints
# "acquired" or "busy" without blocking.  The set is created with one
# semaphore of value 1 if it does not exist.  The only change from
# single-machine code is IPC_DIPC (010000) in the flags.
use strict;
use warnings;
use IPC::SysV qw(IPC_CREAT IPC_EXCL IPC_NOWAIT SEM_UNDO SETVAL);
use Errno qw(EEXIST EAGAIN);

use constant IPC_DIPC => 010000;

$| = 1;
my ($role, $key) = @ARGV;
die "usage: sem_demo.pl hold|acquire|try KEY\n" unless defined $key;
$key = oct($key) if $key =~ /^0/;

my $id = semget($key, 1, IPC_CREAT | IPC_EXCL | 0666 | IPC_DIPC);
if (defined $id) {
    semctl($id, 0, SETVAL, 1) or die "semctl SETVAL: $!\n";
} else {
    die "semget: $!\n" unless $! == EEXIST;
    $id = semget($key, 0, 0666 | IPC_DIPC);
    die "semget: $!\n" unless defined $id;
}
print STDERR "id=$id\n";

sub take {
    my ($flags) = @_;
    return semop($id, pack("s!3", 0, -1, SEM_UNDO | $flags));
}

sub give {
    semop($id, pack("s!3", 0, 1, SEM_UNDO)) or die "semop +1: $!\n";
}

if ($role eq "hold") {
    take(0) or die "semop -1: $!\n";
    print "held\n";
    my $line = <STDIN>;
    give();
    print "released\n";
} elsif ($role eq "acquire") {
    take(0) or die "semop -1: $!\n";
    print "acquired\n";
    give();
    print "released\n";
} elsif ($role eq "try") {
    if (take(IPC_NOWAIT)) {
        print "acquired\n";
        give();
    } elsif ($! == EAGAIN) {
        print "busy\n";
    } else {
        die "semop: $!\n";
    }
} else {
    die "usage: sem_demo.pl hold|acquire|try KEY\n";
}
exit 0;
