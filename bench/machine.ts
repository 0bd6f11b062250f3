import { cpus, platform, release, arch, totalmem } from 'node:os';

/** What a benchmark ran on, stored next to every result so figures can be compared honestly. */
export interface MachineInfo {
  cores: number;
  cpuModel: string;
  memoryGiB: number;
  node: string;
  platform: string;
  date: string;
}

export function machineInfo(now: Date = new Date()): MachineInfo {
  const cpu = cpus();
  return {
    cores: cpu.length,
    cpuModel: cpu[0]?.model.trim() ?? 'unknown',
    memoryGiB: Math.round((totalmem() / 1024 ** 3) * 10) / 10,
    node: process.version,
    platform: `${platform()} ${release()} ${arch()}`,
    date: now.toISOString(),
  };
}

export function describeMachine(m: MachineInfo): string {
  return `${m.cores} × ${m.cpuModel}, ${m.memoryGiB} GiB, Node ${m.node}, ${m.platform}, ${m.date}`;
}
