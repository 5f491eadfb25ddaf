export declare const projectRoot: string;
export declare function entryPoint(source: string, root?: string): { path: string; execArgv: string[] };
export declare function describeEntry(entry: { path: string }): string;
