# SPDX-License-Identifier: MIT
"""Parse `cat MOUNT/sem/KEY` (format: common/semset.c dipc_semset_describe).

    key       0x0005e500
    id        370114466
    owner     node2
    mode      0666
    ...
    sem  semval  sempid   semncnt  semzcnt
    0    0       812@node2  1      0

    waiters   1
      901@node3  [0:-1]
    undo      1
      77@node2  [0:-1]
"""


def parse_sem_cat(text):
    fields, sems, waiters, undo = {}, [], [], []
    section = "fields"
    for line in text.splitlines():
        if not line.strip():
            continue
        w = line.split()
        if w[0] == "sem" and "semval" in w:
            section = "table"
            continue
        if w[0] == "waiters" and len(w) == 2:
            fields["waiters"] = int(w[1])
            section = "waiters"
            continue
        if w[0] == "undo" and len(w) == 2:
            fields["undo"] = int(w[1])
            section = "undo"
            continue
        if section == "fields":
            fields[w[0]] = line[len(w[0]):].strip()
        elif section == "table":
            sems.append({"sem": int(w[0]), "semval": int(w[1]), "sempid": w[2],
                         "semncnt": int(w[3]), "semzcnt": int(w[4])})
        elif section in ("waiters", "undo"):
            who = w[0]
            ops = line[line.index("[") + 1:line.rindex("]")]
            (waiters if section == "waiters" else undo).append((who, ops))
    return {"fields": fields, "sems": sems, "waiters": waiters, "undo": undo}
