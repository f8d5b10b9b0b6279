// GPUBufferUsage's values: Node has no such global until Dawn's are installed.
export const MAP_READ = 0x01;
export const COPY_SRC = 0x04;
export const COPY_DST = 0x08;
export const STORAGE = 0x80;
export const QUERY_RESOLVE = 0x0200;
