// Convolution on oneDNN: tfjs's Conv2D forward and both backward passes, NHWC activations and HWIO
// filters as tfjs lays them out.
#include <string>
#include <vector>

#include "common.h"

namespace fieldcal {

// conv(mode, x, xShape[N,H,W,C], w, wShape[KH,KW,IC,OC], y, yShape[N,OH,OW,OC], [sh,sw,dh,dw,pt,pb,pl,pr],
//      weightToken?, bias?)
// mode 0: y = conv(x, w) (+ bias[OC] when given); 1: x = dconv/dx given dy (y) and w; 2: w = dconv/dw given
// x and dy (y). weightToken (modes 0 and 1; 0 or absent: none) names the weight tensor, whose copy in
// the primitive's layout is then kept for its next use (common.h, KeptWeights).
napi_value Conv(napi_env env, napi_callback_info info) {
  Args<10> a(env, info);
  if (!a) return napiFailed(env);
  if (a.count < 8) return fail(env, "conv needs 8 arguments");
  const int32_t mode = a.int32(0);
  float* x = a.f32(1);
  float* w = a.f32(3);
  float* y = a.f32(5);
  if (!x || !w || !y) return fail(env, "conv operands must be Float32Arrays");
  auto xs = a.ints(2), ws = a.ints(4), ys = a.ints(6), p = a.ints(7);
  if (xs.size() != 4 || ws.size() != 4 || ys.size() != 4 || p.size() != 8)
    return fail(env, "conv shapes must have 4 dimensions and its parameters 8 values");
  const double token = a.count > 8 ? a.num(8) : 0;
  size_t biasLen = 0;
  float* bias = mode == 0 && a.count > 9 ? a.f32(9, &biasLen) : nullptr;
  if (bias && static_cast<int64_t>(biasLen) != ys[3])
    return fail(env, "conv bias must have one value per output channel");
  std::vector<int64_t> all = {mode, bias != nullptr};
  all.insert(all.end(), xs.begin(), xs.end());
  all.insert(all.end(), ws.begin(), ws.end());
  all.insert(all.end(), ys.begin(), ys.end());
  all.insert(all.end(), p.begin(), p.end());
  std::string k = key("conv", all);
  try {
    auto c = cached(k, [&](Cached& c) {
      memory::dims src = {xs[0], xs[3], xs[1], xs[2]};
      memory::dims wei = {ws[3], ws[2], ws[0], ws[1]};
      memory::dims dst = {ys[0], ys[3], ys[1], ys[2]};
      memory::dims strides = {p[0], p[1]}, dil = {p[2] - 1, p[3] - 1}, padL = {p[4], p[6]}, padR = {p[5], p[7]};
      auto weiAny = memory::desc(wei, dt::f32, tag::any);
      auto srcUser = memory::desc(src, dt::f32, tag::nhwc);
      auto weiUser = memory::desc(wei, dt::f32, tag::hwio);
      auto dstUser = memory::desc(dst, dt::f32, tag::nhwc);
      // activations stay in tfjs's NHWC (no reorder of the big tensors); only weights may be reordered
      const auto biasDesc = bias ? memory::desc({ys[3]}, dt::f32, tag::a) : memory::desc();
      dnnl::convolution_forward::desc fd(dnnl::prop_kind::forward_training, dnnl::algorithm::convolution_direct,
                                         srcUser, weiAny, biasDesc, dstUser, strides, dil, padL, padR);
      dnnl::convolution_forward::primitive_desc fpd(fd, userScratchpad(), eng());
      if (mode == 0) {
        c.prim = dnnl::convolution_forward(fpd);
        c.scratch = fpd.scratchpad_desc();
        c.src = srcUser;
        c.wei = fpd.weights_desc();
        c.dst = dstUser;
        c.bias = biasDesc;
      } else if (mode == 1) {
        dnnl::convolution_backward_data::desc bd(dnnl::algorithm::convolution_direct, srcUser, weiAny, dstUser,
                                                 strides, dil, padL, padR);
        dnnl::convolution_backward_data::primitive_desc bpd(bd, userScratchpad(), eng(), fpd);
        c.prim = dnnl::convolution_backward_data(bpd);
        c.scratch = bpd.scratchpad_desc();
        c.src = dstUser;  // input of this primitive: diff_dst
        c.wei = bpd.weights_desc();
        c.dst = srcUser;  // output: diff_src
      } else {
        dnnl::convolution_backward_weights::desc bd(dnnl::algorithm::convolution_direct, srcUser, weiAny, dstUser,
                                                    strides, dil, padL, padR);
        dnnl::convolution_backward_weights::primitive_desc bpd(bd, userScratchpad(), eng(), fpd);
        c.prim = dnnl::convolution_backward_weights(bpd);
        c.scratch = bpd.scratchpad_desc();
        c.src = srcUser;
        c.wei = dstUser;  // diff_dst, in the weights slot of execute()
        c.dst = bpd.diff_weights_desc();
        c.userDst = weiUser;
        c.reorderDst = c.dst != weiUser;
      }
      if (mode != 2) {
        c.userWei = weiUser;
        c.reorderWei = c.wei != weiUser;
      }
    });
    if (mode == 0)
      execute(*c, DNNL_ARG_SRC, x, DNNL_ARG_WEIGHTS, w, DNNL_ARG_DST, y, token, bias);
    else if (mode == 1)
      execute(*c, DNNL_ARG_DIFF_DST, y, DNNL_ARG_WEIGHTS, w, DNNL_ARG_DIFF_SRC, x, token);
    else
      execute(*c, DNNL_ARG_SRC, x, DNNL_ARG_DIFF_DST, y, DNNL_ARG_DIFF_WEIGHTS, w);
  } catch (const dnnl::error& e) {
    return unsupported(env, e);
  }
  return nullptr;
}

}  // namespace fieldcal
