/** deploy/: the container recipe and the Kubernetes manifests checked without a cluster (structure, cross-references, the exporter config they ship). */

import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkConfig } from '../src/cli/exporter.js';
import { parseProgram } from '../src/trace/index.js';
import { repoRoot } from './helpers/reference.js';

const dir = path.join(repoRoot, 'deploy');
const json = (f: string): Record<string, any> => JSON.parse(readFileSync(path.join(dir, f), 'utf8')) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** The fields every Kubernetes object needs, and a DNS-1123 name. */
function expectObject(o: Record<string, unknown>, apiVersion: string, kind: string): void {
  expect(o.apiVersion).toBe(apiVersion);
  expect(o.kind).toBe(kind);
  const meta = o.metadata as { name: string; namespace: string };
  expect(meta.name).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
  expect(meta.namespace).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
  expect(o.spec).toBeTypeOf('object');
}

describe('deploy/', () => {
  const ds = json('daemonset.json');
  const svc = json('service.json');
  const sm = json('servicemonitor.json');

  it('the DaemonSet is privileged, sees host pids, and mounts bpffs, tracefs and BTF from the host', () => {
    expectObject(ds, 'apps/v1', 'DaemonSet');
    expect(ds.spec.selector.matchLabels).toEqual(ds.spec.template.metadata.labels);
    const pod = ds.spec.template.spec;
    expect(pod.hostPID).toBe(true);
    const [c] = pod.containers;
    expect(c.securityContext.privileged).toBe(true);
    const vols = new Map<string, string>(pod.volumes.map((v: { name: string; hostPath: { path: string } }) => [v.name, v.hostPath.path]));
    for (const m of c.volumeMounts as { name: string; mountPath: string }[]) expect(vols.get(m.name), m.name).toBe(m.mountPath);
    expect([...vols.values()].sort()).toEqual(['/sys/fs/bpf', '/sys/kernel/btf', '/sys/kernel/tracing']);
  });

  it('the Service selects the DaemonSet pods and the ServiceMonitor scrapes its metrics port', () => {
    expectObject(svc, 'v1', 'Service');
    expectObject(sm, 'monitoring.coreos.com/v1', 'ServiceMonitor');
    expect(svc.spec.selector).toEqual(ds.spec.template.metadata.labels);
    const port = ds.spec.template.spec.containers[0].ports[0];
    expect(svc.spec.ports[0].targetPort).toBe(port.name);
    expect(sm.spec.selector.matchLabels).toEqual(svc.metadata.labels);
    expect(sm.spec.endpoints[0].port).toBe(svc.spec.ports[0].name);
    expect(sm.spec.endpoints[0].interval).toMatch(/^\d+(ms|s|m|h)$/);
  });

  it('the image copies what exists and runs the exporter on the config it ships, whose programs parse', () => {
    const recipe = readFileSync(path.join(dir, 'Containerfile'), 'utf8');
    for (const m of recipe.matchAll(/^COPY (?!--from)(\S+)/gm)) if (m[1] !== '.') expect(existsSync(path.join(repoRoot, m[1])), m[1]).toBe(true);
    const entry = JSON.parse(/^ENTRYPOINT (.*)$/m.exec(recipe)![1]) as string[];
    expect(entry.slice(0, 4)).toEqual(['/opt/bpfkit/bin/bpfkit', 'exporter', '--config', '/etc/bpfkit/exporter.json']);
    expect(entry.at(-1)).toBe(`0.0.0.0:${ds.spec.template.spec.containers[0].ports[0].containerPort}`);
    const cfg = checkConfig(json('exporter.json'));
    for (const p of cfg.programs) expect(() => parseProgram(p.source!)).not.toThrow();
  });
});
