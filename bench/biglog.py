"""Synthetic large nimadm logs for the benchmarks: a complete run whose phase 6 is inflated.

Owns :func:`write_big_log`. The installp transcript of phase 6 is repeated with
realistic fileset blocks (APPLYING headers, copyright notices, "Filesets
processed" progress, Installation Summary rows) until the file has the
requested number of lines.
"""

from __future__ import annotations

from pathlib import Path

RULE = "+" + "-" * 77 + "+"


def _banner(n: int) -> list[str]:
    return [RULE, f"Executing nimadm phase {n}.", RULE]


def _fileset_block(i: int, total: int) -> list[str]:
    name = f"bos.fileset{i % 997}.rte"
    return [
        "installp: APPLYING software for:",
        f"        {name} 7.3.1.{i % 50}",
        "",
        "",
        ". . . . . << Copyright notice for bos >> . . . . . . .",
        " Licensed Materials - Property of IBM",
        "",
        " 5765CD300",
        "   Copyright International Business Machines Corp. 1985, 2023.",
        "   Copyright Apollo Computer Inc. 1987.",
        "",
        " All rights reserved.",
        " US Government Users Restricted Rights - Use, duplication or disclosure",
        " restricted by GSA ADP Schedule Contract with IBM Corp.",
        ". . . . . << End of copyright notice for bos >>. . . .",
        "",
        f"Filesets processed:  {i} of {total}  (Total time:  {i // 60} mins {i % 60} secs).",
        "",
    ]


def write_big_log(path: Path, lines: int, client: str = "big01") -> int:
    """Write a log of about ``lines`` lines; returns the number written."""
    head = [
        "Initializing the NIM master.",
        f"Initializing NIM client {client}.",
        "Verifying alt_disk_migration eligibility.",
        f"Initializing log: /var/adm/ras/alt_mig/{client}_alt_mig.log",
        "Starting Alternate Disk Migration.",
        *_banner(1),
        "Cloning altinst_rootvg on client, Phase 1.",
        'Client alt_disk_install command: alt_disk_copy -j -M 7.3 -P1 -d "hdisk1"',
        *[f"Creating logical volume alt_hd{n}" for n in (5, 6, 8, 4, 2, "9var", 3, 1, "10opt")],
        "Phase 1 complete.",
        *_banner(2),
        "Creating nimadm cache file systems on volume group nimvg.",
        *_banner(3),
        "Syncing client data to cache ...",
        "cannot access ./tmp/alt_lock: A file or directory in the path name does not exist.",
        *_banner(4),
        "nimadm: There is no user customization script specified for this phase.",
        *_banner(5),
        *[f"Running migration merge method: ODM_merge m{n}." for n in range(27)],
        *_banner(6),
        "Installing and migrating software.",
        "Updating install utilities.",
    ]
    tail = [
        "Installation Summary",
        "--------------------",
        "Name                        Level           Part        Event       Result",
        "-------------------------------------------------------------------------------",
        "bos.rte.install             7.3.1.0         USR         APPLY       SUCCESS",
        *_banner(7),
        "nimadm: There is no user customization script specified for this phase.",
        *_banner(8),
        "Creating client boot image.",
        "bosboot: Boot image is 51228 512 byte blocks.",
        "Writing boot image to client's alternate boot disk hdisk1.",
        *_banner(9),
        "Adjusting client file system sizes ...",
        "Syncing cache data to client ...",
        *_banner(10),
        "Removing nimadm cache file systems.",
        *_banner(11),
        "Cloning altinst_rootvg on client, Phase 3.",
        'Client alt_disk_install command: alt_disk_copy -j -M 7.3 -P3 -d "hdisk1"',
        "Bootlist is set to the boot disk: hdisk1 blv=hd5",
        *_banner(12),
        "Cleaning up alt_disk_migration on the NIM master.",
        f"Cleaning up alt_disk_migration on client {client}.",
    ]
    block_len = len(_fileset_block(1, 1))
    blocks = max(1, (lines - len(head) - len(tail)) // block_len)
    written = 0
    with path.open("w", encoding="ascii", newline="\n") as out:
        out.write("\n".join(head) + "\n")
        written += len(head)
        for i in range(1, blocks + 1):
            block = _fileset_block(i, blocks)
            out.write("\n".join(block) + "\n")
            written += len(block)
        out.write("\n".join(tail) + "\n")
        written += len(tail)
    return written
