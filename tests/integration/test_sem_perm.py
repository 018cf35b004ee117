# SPDX-License-Identifier: MIT
"""Permission checks with the caller's identity, whatever node it calls from."""

import pytest

from semtool import SemTool


@pytest.mark.parametrize("caller", ["node1", "node2"])
def test_nobody_is_denied(cluster, key, caller):
    """Set owned by root on node1, mode 0600; nobody calls from `caller`."""
    st = SemTool(cluster)
    sid = st.create("node1", key, 2, "600")
    st.must("node1", "setall", sid, 1, 1)
    nobody = dict(user="nobody")
    assert st.op(caller, sid, "0:-1:n", **nobody).errno == "EACCES"
    assert st.op(caller, sid, "0:0:n", **nobody).errno == "EACCES"
    assert st(caller, "getval", sid, 0, **nobody).errno == "EACCES"
    assert st(caller, "getall", sid, **nobody).errno == "EACCES"  # IPC_STAT first
    assert st(caller, "setval", sid, 0, 5, **nobody).errno == "EACCES"
    assert st(caller, "get", hex(key), 2, "600", **nobody).errno == "EACCES"
    assert st(caller, "rmid", sid, **nobody).errno == "EPERM"
    assert st(caller, "ipcset", sid, "666", **nobody).errno == "EACCES"  # its IPC_STAT
    assert st.getall("node3", sid) == [1, 1]

    # mode 0666: nobody may operate but still not remove or change the set
    st.must("node3", "ipcset", sid, "666")
    assert st.op(caller, sid, "0:-1:n", **nobody).ok
    assert st(caller, "getval", sid, 0, **nobody).val == 0
    assert st(caller, "rmid", sid, **nobody).errno == "EPERM"
    assert st(caller, "ipcset", sid, "600", **nobody).errno == "EPERM"
    assert st.must("node1", "getpid", sid, 0).val > 0
    st.must("node2", "rmid", sid)


def test_nobody_owned_set_created_by_nobody(cluster, key):
    st = SemTool(cluster)
    sid = st.must("node2", "create", hex(key), 1, "600", "excl", user="nobody").id
    s = st.must("node1", "stat", sid).kv
    assert (s["uid"], s["gid"], s["cuid"], s["cgid"], s["mode"]) == \
        ("65534", "65534", "65534", "65534", "600")
    assert st.op("node3", sid, "0:+1", user="nobody").ok
    assert st("node3", "getval", sid, 0, user="nobody").val == 1
    # root may do anything; nobody may remove its own set from another node
    assert st.getval("node1", sid) == 1
    assert st.must("node3", "rmid", sid, user="nobody")
