export declare const ENTRY: string;
export declare function measureBundle(): Promise<{ code: Uint8Array; minified: number; gzipped: number }>;
