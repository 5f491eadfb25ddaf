export declare const projectRoot: string;
export declare function tsxInstalled(root?: string): boolean;
export declare function buildIsCurrent(root?: string): boolean;
export declare function entryPoint(
  source: string,
  root?: string,
  tsx?: boolean,
): { path: string; execArgv: string[]; warning?: string; problem?: string };
export declare function describeEntry(entry: { path: string }): string;
