#!/usr/bin/env python3
"""Host side of the check scenario: the homi-check documents the guest
exported are well formed and say what the testbed is (ARCHITECTURE.md 3.2).

    check-check.py DIR
"""
import json
import os
import sys

KEYS = ['check', 'subject', 'status', 'why', 'fix', 'modes', 'vf', 'gpu', 'pair']
VF = '0000:01:00.1'
fails = []


def fail(msg):
    fails.append(msg)
    print('FAIL: ' + msg)


def load(d, name):
    with open(os.path.join(d, name)) as f:
        doc = json.load(f)
    if next(iter(doc)) != 'homi-check' or doc['homi-check'] != 1:
        fail('%s: first key is not "homi-check": 1' % name)
    for c in doc['checks']:
        if list(c) != KEYS:
            fail('%s: keys %s, expected %s' % (name, list(c), KEYS))
        if c['status'] not in ('PASS', 'WARN', 'FAIL', 'UNKNOWN'):
            fail('%s: status %r' % (name, c['status']))
        if not c['why'] or not c['modes'] or not set(c['modes']) <= {'H', 'D', 'G'}:
            fail('%s: %s: empty why or bad modes' % (name, c['check']))
        if c['status'] in ('WARN', 'FAIL') and not c['fix']:
            fail('%s: %s %s without a fix' % (name, c['status'], c['check']))
    s = doc['summary']
    for st in ('PASS', 'WARN', 'FAIL', 'UNKNOWN'):
        n = sum(1 for c in doc['checks'] if c['status'] == st)
        if s[st.lower()] != n:
            fail('%s: summary %s %d, counted %d' % (name, st, s[st.lower()], n))
    return doc


def status(doc, check, mode):
    got = [c['status'] for c in doc['checks'] if c['check'] == check and mode in c['modes']]
    return got[0] if len(got) == 1 else got


def main(d):
    doc = load(d, 'check.json')
    want = {('modules', 'H'): 'PASS', ('iommu-mode', 'H'): 'PASS', ('iommu-mode', 'D'): 'FAIL',
            ('iommu-mode', 'G'): 'FAIL', ('iommu-group', 'H'): 'PASS', ('vf-driver', 'G'): 'PASS',
            ('vf-online', 'H'): 'PASS', ('vfio-owner', 'D'): 'PASS', ('gpu', 'H'): 'UNKNOWN',
            ('affinity', 'D'): 'UNKNOWN', ('acs', 'G'): 'UNKNOWN', ('gpu-bar1', 'D'): 'UNKNOWN',
            ('dmabuf-importer', 'D'): 'FAIL'}
    for (check, mode), st in want.items():
        got = status(doc, check, mode)
        if got != st:
            fail('check.json: %s mode %s: %s, expected %s' % (check, mode, got, st))
    if doc['modes'] != ['H', 'D', 'G']:
        fail('check.json: modes %s' % doc['modes'])
    for c in doc['checks']:
        if c['subject'] != 'host' and not c['subject'].startswith('/dev/') and c['vf'] != VF:
            fail('check.json: %s is about %s, not %s' % (c['check'], c['vf'], VF))
        if c['gpu'] is not None:
            fail('check.json: %s names a GPU on a machine without one' % c['check'])

    h = load(d, 'check-h-vf.json')
    if h['modes'] != ['H'] or any(c['modes'] != ['H'] for c in h['checks']):
        fail('check-h-vf.json: a verdict outside mode H')
    if any(c['status'] == 'FAIL' for c in h['checks']):
        fail('check-h-vf.json: a FAIL in mode H')
    if 'gpu-bar1' in {c['check'] for c in h['checks']}:
        fail('check-h-vf.json: gpu-bar1 concerns modes D and G only')

    off = load(d, 'check-offline.json')
    if status(off, 'vf-online', 'H') != 'FAIL':
        fail('check-offline.json: vf-online is %s, expected FAIL' % status(off, 'vf-online', 'H'))
    n = 3
    if os.path.exists(os.path.join(d, 'check-user-homid.json')):
        # uid 1000: in-process the secondary's state is unknown, through homid
        # (root) it is read
        direct = load(d, 'check-user-direct.json')
        homid = load(d, 'check-user-homid.json')
        n += 2
        if status(direct, 'vf-online', 'H') != 'UNKNOWN':
            fail('check-user-direct.json: vf-online is %s, expected UNKNOWN' % status(direct, 'vf-online', 'H'))
        if status(homid, 'vf-online', 'H') != 'PASS':
            fail('check-user-homid.json: vf-online is %s, expected PASS' % status(homid, 'vf-online', 'H'))
    else:
        fail('check-user-homid.json not exported (no setpriv in the guest?)')
    print('check: %d documents verified, %d problems' % (n, len(fails)))
    return 1 if fails else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1]))
