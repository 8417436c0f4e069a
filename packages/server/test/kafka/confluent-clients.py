# Kafka clients for the confluent-kafka tests (Debian's python3-confluent-kafka, librdkafka 2.0.2),
# driven by the test: each command prints one JSON line per event on stdout.
import json, sys, time
from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition

def out(**kw):
    print(json.dumps(kw), flush=True)

def produce(bootstrap, topic, n, prefix, idempotent):
    p = Producer({'bootstrap.servers': bootstrap, 'enable.idempotence': idempotent == 'true', 'partitioner': 'murmur2_random', 'linger.ms': 5})
    results = []
    def done(err, msg):
        results.append({'error': None if err is None else str(err), 'partition': msg.partition(), 'offset': msg.offset(), 'key': msg.key().decode()})
    for i in range(int(n)):
        p.produce(topic, key=f'{prefix}-{i}'.encode(), value=f'value-{i}'.encode(), on_delivery=done)
    p.flush(30)
    out(event='produced', results=results)

def consume(bootstrap, topic, group, until_empty_ms, max_records, commit):
    c = Consumer({'bootstrap.servers': bootstrap, 'group.id': group, 'auto.offset.reset': 'earliest', 'enable.auto.commit': False,
                  'session.timeout.ms': 6000, 'heartbeat.interval.ms': 500})
    assigned = []
    def on_assign(consumer, parts):
        assigned.append(sorted(p.partition for p in parts))
        out(event='assigned', partitions=sorted(p.partition for p in parts))
    c.subscribe([topic], on_assign=on_assign)
    got = []
    idle_since = None
    deadline = time.time() + 60
    while time.time() < deadline and len(got) < int(max_records):
        m = c.poll(0.2)
        if m is None or m.error():
            if m is not None:
                out(event='error', error=str(m.error()))
            if got or assigned:
                idle_since = idle_since or time.time()
                if (time.time() - idle_since) * 1000 > int(until_empty_ms):
                    break
            continue
        idle_since = None
        got.append({'partition': m.partition(), 'offset': m.offset(), 'key': m.key().decode() if m.key() else None, 'value': m.value().decode()})
    if commit == 'true' and got:
        c.commit(asynchronous=False)
        committed = c.committed([TopicPartition(topic, p) for p in sorted({g['partition'] for g in got})], timeout=10)
        out(event='committed', offsets={str(tp.partition): tp.offset for tp in committed})
    out(event='consumed', records=got)
    c.close()
    out(event='closed')

def member(bootstrap, topic, group):
    # stays in the group, reporting assignments, until stdin closes
    import threading
    stop = threading.Event()
    threading.Thread(target=lambda: (sys.stdin.read(), stop.set()), daemon=True).start()
    c = Consumer({'bootstrap.servers': bootstrap, 'group.id': group, 'auto.offset.reset': 'earliest', 'enable.auto.commit': False,
                  'session.timeout.ms': 6000, 'heartbeat.interval.ms': 300})
    c.subscribe([topic], on_assign=lambda consumer, parts: out(event='assigned', partitions=sorted(p.partition for p in parts)),
                on_revoke=lambda consumer, parts: out(event='revoked', partitions=sorted(p.partition for p in parts)))
    while not stop.is_set():
        c.poll(0.1)
    c.close()
    out(event='closed')

def txn(bootstrap, src, dst, group, tid, ending, n):
    # consume-process-produce in one transaction: reads n records of src in the group, writes
    # each to dst, sends the consumed offsets with the transaction, then commits or aborts it
    c = Consumer({'bootstrap.servers': bootstrap, 'group.id': group, 'auto.offset.reset': 'earliest', 'enable.auto.commit': False,
                  'isolation.level': 'read_committed', 'session.timeout.ms': 6000, 'heartbeat.interval.ms': 500})
    c.subscribe([src])
    got = []
    deadline = time.time() + 60
    while time.time() < deadline and len(got) < int(n):
        m = c.poll(0.2)
        if m is not None and not m.error():
            got.append(m)
    p = Producer({'bootstrap.servers': bootstrap, 'transactional.id': tid, 'transaction.timeout.ms': 30000})
    p.init_transactions(30)
    p.begin_transaction()
    for m in got:
        p.produce(dst, key=m.key(), value=b'processed-' + m.value())
    p.send_offsets_to_transaction(c.position(c.assignment()), c.consumer_group_metadata(), 30)
    if ending == 'commit':
        p.commit_transaction(30)
    else:
        p.flush(30)
        p.abort_transaction(30)
    out(event='ended', ending=ending, keys=sorted(m.key().decode() for m in got))
    c.close()

def read(bootstrap, topic, partitions, isolation):
    # every record of the topic from the start, with the given isolation level, without a group
    c = Consumer({'bootstrap.servers': bootstrap, 'group.id': 'unused', 'enable.auto.commit': False, 'isolation.level': isolation,
                  'enable.partition.eof': True})
    c.assign([TopicPartition(topic, i, 0) for i in range(int(partitions))])
    got, eof = [], set()
    deadline = time.time() + 60
    while time.time() < deadline and len(eof) < int(partitions):
        m = c.poll(0.2)
        if m is None:
            continue
        if m.error():
            if m.error().code() == KafkaError._PARTITION_EOF:
                eof.add(m.partition())
            continue
        got.append({'partition': m.partition(), 'offset': m.offset(), 'key': m.key().decode(), 'value': m.value().decode()})
    out(event='read', records=got, complete=len(eof) == int(partitions))
    c.close()

def follow(bootstrap, topic, partitions, seconds):
    # reads the topic from the start without a group, printing each record as it comes, and every
    # error and offset reset librdkafka reports (a leader change makes it validate its position
    # with OffsetForLeaderEpoch), until killed or `seconds` pass
    c = Consumer({'bootstrap.servers': bootstrap, 'group.id': 'unused', 'enable.auto.commit': False,
                  'auto.offset.reset': 'error', 'topic.metadata.refresh.interval.ms': 1000,
                  'error_cb': lambda e: out(event='error', error=str(e))})
    c.assign([TopicPartition(topic, i, 0) for i in range(int(partitions))])
    out(event='started')
    deadline = time.time() + float(seconds)
    while time.time() < deadline:
        m = c.poll(0.2)
        if m is None:
            continue
        if m.error():
            out(event='error', error=str(m.error()), partition=m.partition())
            continue
        out(event='record', partition=m.partition(), offset=m.offset(), value=m.value().decode())
    c.close()

def configs(bootstrap, topic, key, value):
    # describes the topic's configs, sets key to value (AlterConfigs), describes them again
    from confluent_kafka.admin import AdminClient, ConfigResource
    a = AdminClient({'bootstrap.servers': bootstrap})
    def describe():
        res = ConfigResource('topic', topic)
        entries = a.describe_configs([res])[res].result(30)
        return {k: {'value': e.value, 'default': e.is_default, 'source': e.source} for k, e in entries.items()}
    before = describe()
    res = ConfigResource('topic', topic, set_config={key: value})
    a.alter_configs([res])[res].result(30)
    out(event='configs', before=before, after=describe())
    try:
        bad = ConfigResource('topic', topic, set_config={key: 'not-a-value'})
        a.alter_configs([bad])[bad].result(30)
        out(event='refused', error=None)
    except Exception as e:
        out(event='refused', error=str(e))

{'produce': produce, 'configs': configs, 'consume': consume, 'member': member, 'txn': txn, 'read': read, 'follow': follow}[sys.argv[1]](*sys.argv[2:])
