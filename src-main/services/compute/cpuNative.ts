// The `cpu-native` backend: tfjs's CPU backend with its heaviest kernels on the oneDNN addon
// (native/src/). The kernels are in native/, one module per family (convolution, matmul,
// elementwise, reductions, copies, fused), and native/register.ts lists every one of them.
export { loadAddon, type NativeAddon } from './native/addon';
export { poolBytes, registerCpuNative } from './native/register';
