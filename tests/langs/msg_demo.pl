#!/usr/bin/perl
# SPDX-License-Identifier: MIT
#
# A message queue in Perl (IPC::SysV and the msgget/msgsnd/msgrcv/msgctl
# built-ins), for tests/integration/test_msg_langs.py.
#
#     msg_demo.pl ROLE KEY [ARGS]
#
# ROLE: send KEY TYPE TEXT | recv KEY MSGTYP | poll KEY MSGTYP | count KEY,
# as in msg_demo.py ("sent TYPE TEXT", "got TYPE TEXT", "empty", "qnum N").
# The queue is created (mode 0666) if it does not exist.  The only change
# from single-machine code is IPC_DIPC (010000) in the msgget flags.
use strict;
use warnings;
use IPC::SysV qw(IPC_CREAT IPC_NOWAIT);
use IPC::Msg;
use Errno qw(ENOMSG);

use constant IPC_DIPC => 010000;

$| = 1;
my ($role, $key, @args) = @ARGV;
die "usage: msg_demo.pl send|recv|poll|count KEY [ARGS]\n" unless defined $key;
$key = oct($key) if $key =~ /^0/;

my $id = msgget($key, IPC_CREAT | 0666 | IPC_DIPC);
die "msgget: $!\n" unless defined $id;
print STDERR "id=$id\n";

if ($role eq "send") {
    my ($type, $text) = @args;
    msgsnd($id, pack("l! a*", $type, $text), 0) or die "msgsnd: $!\n";
    print "sent $type $text\n";
} elsif ($role eq "recv" || $role eq "poll") {
    my $buf;
    if (msgrcv($id, $buf, 8192, $args[0], $role eq "poll" ? IPC_NOWAIT : 0)) {
        my ($type, $text) = unpack("l! a*", $buf);
        print "got $type $text\n";
    } elsif ($role eq "poll" && $! == ENOMSG) {
        print "empty\n";
    } else {
        die "msgrcv: $!\n";
    }
} elsif ($role eq "count") {
    # the object interface of the same module: msgctl(IPC_STAT) underneath
    my $st = IPC::Msg->new($key, 0666 | IPC_DIPC)->stat or die "msgctl IPC_STAT: $!\n";
    print "qnum ", $st->qnum, "\n";
} else {
    die "usage: msg_demo.pl send|recv|poll|count KEY [ARGS]\n";
}
exit 0;
